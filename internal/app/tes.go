package app

import (
	"log/slog"

	"github.com/spe4hd/enclave/executors/tes"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/wes"
)

// taskURI is the API's tes_uri of a run's tasks: the TES task of a run on the tes
// executor, "" for every other executor. It reads the handle only, so an API server
// without a worker gives it too.
func taskURI(h wes.Handle) string {
	if h.Executor != tes.Name {
		return ""
	}
	u, err := tes.TaskURL(h)
	if err != nil {
		return ""
	}
	return u
}

// newTES builds the tes executor from executor.tes; without allowed_dirs the TES server
// may reach data_dir (absolute by now) only.
func newTES(cfg config.Config, log *slog.Logger) (*tes.Executor, error) {
	t := cfg.Executor.TES
	dirs := t.AllowedDirs
	if len(dirs) == 0 {
		dirs = []string{cfg.DataDir}
	}
	return tes.New(tes.Config{
		URL: t.URL, Token: t.Token, Username: t.Username, Password: t.Password,
		Image: t.Image, StageImage: t.StageImage, AllowedDirs: dirs,
		BackendParameters: t.BackendParameters, Timeout: t.Timeout,
		Logger: log.With("executor", "tes"),
	})
}
