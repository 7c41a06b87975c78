package wes

import "time"

// The audit trail's query types, shared by the trail (pkg/audit) and the faces that
// show it.

// AuditEntry is one stored event with its place in the chain.
type AuditEntry struct {
	Seq   int64      `json:"seq"`
	ID    string     `json:"id"` // Redis stream id; also Filter.Cursor's form
	Prev  string     `json:"prev"`
	Hash  string     `json:"hash"`
	Event AuditEvent `json:"event"`
}

// AuditFilter selects entries for an audit query. Zero fields match everything.
type AuditFilter struct {
	RunID  string
	Actor  string
	Action string // exact, or a prefix when it ends in "*" ("egress.*")
	Since  time.Time
	Until  time.Time // exclusive
	// Limit is the most entries returned: default 100, at most 1000.
	Limit int
	// Cursor continues a previous Query: its Page.Next.
	Cursor string
}

// AuditPage is one page of audit query results, oldest first.
type AuditPage struct {
	Entries []AuditEntry
	// Next, when not empty, is the Cursor for the following page. It can be set with
	// fewer than Limit entries: one Query scans a bounded number of entries.
	Next string
}
