package runs

import "github.com/spe4hd/enclave/pkg/wes"

// checkSubmit asks the executor a new run will use whether it would take the run: its
// owner and the executor parameters among its effective workflow_engine_parameters (a
// SLURM partition outside the allow-list is refused here with 400, not when the worker
// submits the job).
func (s *Service) checkSubmit(p *wes.Principal, executor string, params map[string]string) error {
	c, ok := s.deps.SubmitCheckers[executor]
	if !ok {
		return nil
	}
	return c.CheckSubmit(p.Subject, params)
}
