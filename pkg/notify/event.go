package notify

import (
	"encoding/json"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// TypePrefix starts the CloudEvents type of every event: TypePrefix + the notice kind,
// e.g. "org.spe4hd.enclave.run.terminal".
const TypePrefix = "org.spe4hd.enclave."

// ContentType is the media type of a webhook's body (CloudEvents structured mode).
const ContentType = "application/cloudevents+json; charset=utf-8"

// CloudEvent is one event in CloudEvents 1.0 structured JSON form.
type CloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            EventData `json:"data"`
}

// EventData is what a receiver learns about the run. It is deliberately small: the run
// id, its state, the catalogue workflow id and how many outputs are pending, released
// or rejected. No file names (a name can carry data: "patient_1234.csv"), no sizes or
// hashes (both can confirm a guess about a file's content), no parameters, paths or logs.
type EventData struct {
	RunID    string `json:"run_id"`
	State    string `json:"state"`
	Workflow string `json:"workflow,omitempty"`
	// Owner is the owner's subject, only when notify.include_owner is set.
	Owner string `json:"owner,omitempty"`
	// Outputs counts the run's outputs by status: pending, released, rejected.
	Outputs map[string]int `json:"outputs,omitempty"`
	// Decision is the reviewer's decision (review.decided only): approve or reject.
	Decision string `json:"decision,omitempty"`
}

// Event returns the CloudEvent of n. source is the CloudEvents source (a URI reference
// naming this deployment); includeOwner adds the owner's subject.
func Event(n wes.Notice, source string, includeOwner bool) CloudEvent {
	d := EventData{RunID: n.RunID, State: string(n.State), Workflow: n.Workflow, Outputs: n.Outputs, Decision: n.Decision}
	if includeOwner {
		d.Owner = n.Owner
	}
	return CloudEvent{SpecVersion: "1.0", ID: n.ID, Source: source, Type: TypePrefix + n.Kind,
		Subject: n.RunID, Time: n.Time.UTC(), DataContentType: "application/json", Data: d}
}

// body is the exact bytes a webhook receives, and signs.
func (e CloudEvent) body() ([]byte, error) { return json.Marshal(e) }
