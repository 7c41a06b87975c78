// Package catalog is the sealed zone's catalogue: the validated workflows researchers may
// run, the datasets those workflows read, and the usage policy that says who may use which.
//
// A catalogue is one YAML file (decoded strictly: an unknown key is a problem):
//
//	root: workflows        # where workflow dirs live; default the catalogue's directory
//	data_root: /zone/data  # where dataset paths live; default the catalogue's directory
//	workflows:
//	  - id: cohort-count-smk         # ^[a-z0-9][a-z0-9._-]{0,63}$, unique
//	    name: Count patients per group
//	    description: ...
//	    version: 1.0.0
//	    workflow_type: SMK             # SMK, CWL or NFL, as in WES
//	    workflow_type_version: "1.0"
//	    engine: snakemake              # snakemake, cwltool or nextflow
//	    engine_version: ""             # optional pin; "" = the newest installed
//	    dir: cohort-count-smk          # relative to root, or absolute
//	    main: Snakefile                # optional; default the first file
//	    files:                         # relative to dir; also their path in the work dir
//	      - {path: Snakefile, sha256: 64 hex digits}
//	    params_schema: {...}           # JSON Schema (draft 2020-12) of workflow_params
//	    allowed_engine_params:         # a subset of the engine's allow-list
//	      - {name: cores, value: "1"}  # value, when set, is fixed: clients may only repeat it
//	    outputs: {globs: [results/summary.csv], max_file_bytes: 1048576}  # wes.OutputPolicy
//	    logs: admin                    # none | admin (default) | owner
//	    egress: auto                   # auto (default) | review
//	    approvals: 2                   # review: distinct reviewers per file (1-5; zone.review.approvals is the floor)
//	    resources: {cpus: 1, memory_mb: 512, time_limit: 10m}
//	    groups: [cohort-analysts]      # principal groups that may run it
//	datasets:
//	  - {id: cohort-demo, name: ..., description: ..., path: cohort-demo/patients.csv, groups: [...]}
//	    # optional, for the runs' provenance (never computed by Enclave):
//	    # version: "2024-06", checksum: "sha256:<64 hex digits>"
//	policy:                            # allow rules; anything not allowed is denied
//	  - {groups: [...], roles: [...], workflows: [ids], datasets: [ids]}
//
// # Dataset parameters
//
// A parameter is a dataset reference when its schema carries the custom keyword
// "x-enclave-dataset": true. The keyword may appear only on a top-level property of
// params_schema (then of "type": "string": one dataset id) or on the "items" of a top-level
// property of "type": "array" (a list of ids). Clients send dataset ids, never paths; the
// runner gets the params with each id replaced by the dataset's path inside the zone (a
// path string for Snakemake and Nextflow, a CWL File or Directory object for CWL).
// params_schema's root must be "type": "object" with "additionalProperties": false (or
// "unevaluatedProperties": false), so no parameter reaches a workflow unchecked, and it
// may not $ref anything outside itself.
//
// Any other string in workflow_params, at any depth, that looks like a path or URL (starts
// with / \ or ~, has a ".." segment, a scheme such as file:// or s3://, or a NUL byte) is
// refused, unless the schema reached through plain "properties" and "items" from the root
// pins it with "type": "string" plus "pattern", or with "enum" or "const": then the data
// controller chose what may pass.
//
// # Who may use what
//
// A principal may run a workflow when one of its groups is in the entry's groups, or a
// policy rule matches it (one of its groups is in the rule's groups, or one of its roles in
// the rule's roles) and lists the workflow. Datasets work the same way. Nobody else may,
// admins included: the zone is default-deny.
//
// # What clients learn
//
// A workflow id that does not exist and one the caller may not run give the same 403
// message, and so do unknown and forbidden dataset ids, so refusals reveal nothing about
// hidden entries; the cause (ErrUnknown or ErrNotAllowed) is in the error chain for the
// audit trail. Malformed ids are 400. No message a client can see carries a path inside
// the zone: dataset paths and workflow directories leave this package only through
// Resolved, ResolveParams and StageFiles, which are for the runner.
//
// A Catalog is immutable once loaded and safe for concurrent use; Holder swaps in a new
// one on Reload (SIGHUP) and keeps the old one when the new file has problems.
package catalog
