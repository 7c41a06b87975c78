package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// GetRunROCrate implements GET /runs/{run_id}/ro-crate: the run's Workflow Run Crate
// metadata as the run service wrote it (runs.Service.ROCrate decides who may have it and
// what it holds, and audits the export).
func (s *server) GetRunROCrate(ctx context.Context, req api.GetRunROCrateRequestObject) (api.GetRunROCrateResponseObject, error) {
	b, err := s.runs.ROCrate(ctx, wes.PrincipalFromContext(ctx), req.RunId)
	if err != nil {
		return nil, err
	}
	return roCrate(b), nil
}

// roCrate writes the document as the service made it: decoding it into the generated
// model and encoding it again would only cost time.
type roCrate []byte

func (b roCrate) VisitGetRunROCrateResponse(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", runs.ROCrateContentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Content-Disposition", `attachment; filename="ro-crate-metadata.json"`)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}
