package app

import (
	"fmt"
	"log/slog"

	"github.com/spe4hd/enclave/executors/slurm"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/wes"
)

// slurmConfig is the slurm executor's configuration from executor.slurm; the sftp
// workspace maps data_dir (absolute by now) to remote_root.
func slurmConfig(cfg config.Config, log *slog.Logger) (slurm.Config, error) {
	sl := cfg.Executor.Slurm
	subjects, keys, err := sl.ParseLogins()
	if err != nil {
		return slurm.Config{}, err
	}
	var logins map[string]slurm.Login
	if len(subjects) > 0 {
		logins = make(map[string]slurm.Login, len(subjects))
		for subject, login := range subjects {
			logins[subject] = slurm.Login{User: login, KeyFile: keys[login]}
		}
	}
	return slurm.Config{
		Mode: sl.Mode,
		SSH: slurm.SSHConfig{Addr: sl.SSH.Addr, User: sl.SSH.User, KeyFile: sl.SSH.KeyFile,
			KnownHostsFile: sl.SSH.KnownHostsFile, KeepAlive: sl.SSH.KeepAlive},
		Partition: sl.Partition, Account: sl.Account, QOS: sl.QOS,
		AllowedPartitions: sl.AllowedPartitions, AllowedAccounts: sl.AllowedAccounts, AllowedQOS: sl.AllowedQOS,
		Workspace: sl.Workspace, LocalRoot: cfg.DataDir, RemoteRoot: sl.RemoteRoot, KeepRemote: !sl.RemoteCleanup,
		CollectMaxFiles: sl.CollectMaxFiles, CollectMaxBytes: int64(sl.CollectMaxBytes),
		Logins: logins,
		Logger: log.With("executor", "slurm"),
	}, nil
}

// submitCheckers are the executors' checks of new runs for the API (wes.SubmitChecker),
// built from the configuration alone: an API server without a worker has no executors.
func submitCheckers(cfg config.Config, log *slog.Logger) (map[string]wes.SubmitChecker, error) {
	out := map[string]wes.SubmitChecker{}
	if cfg.Executor.Slurm.Enabled {
		sc, err := slurmConfig(cfg, log)
		if err != nil {
			return nil, fmt.Errorf("executor.slurm: %w", err)
		}
		c, err := slurm.NewChecker(sc)
		if err != nil {
			return nil, fmt.Errorf("executor.slurm: %w", err)
		}
		out[slurm.Name] = c
	}
	return out, nil
}
