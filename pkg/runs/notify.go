package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Notices of the service's own decisions (a review decided, outputs released on
// approval) go through the run's outbox, as the runner's do: notify stores the notice in
// the same store update as the decision, so a server that dies right after the update
// loses nothing — the workers' reconciler finds the notice due and sends it. sendNotices
// then sends it at once and removes it; when both do, the Notifier's de-duplication by
// notice id keeps it to one delivery per recipient.
//
// In a review's store update, after the outputs' statuses are set:
//
//	s.notify(cur, wes.NoticeReviewDecided, decision) // Approve or Reject
//	s.notify(cur, wes.NoticeOutputReleased, "")      // when this decision released any
//
// and after the update succeeded: s.sendNotices(ctx, updated).

// notifyTimeout bounds handing one notice to the Notifier.
const notifyTimeout = 10 * time.Second

// notify adds the notice of kind about cur to its outbox. Call it inside the store
// update fn that makes the change it tells of, after the change: the notice describes
// cur as that update stores it. decision is the review's decision (Approve or Reject)
// for wes.NoticeReviewDecided, "" otherwise. Without a Notifier it does nothing.
func (s *Service) notify(cur *wes.Run, kind, decision string) {
	if s.deps.Notify == nil {
		return
	}
	id := fmt.Sprintf("%d-notify-%s", cur.Version+1, kind) // the version this update stores: unique per run
	n := wes.NewNotice(kind, cur.ID+"/"+id, cur, time.Now())
	n.Decision = decision
	// Due at once: if sendNotices never runs (the server died), the reconciler sends it
	// on its next pass.
	cur.Effects = append(cur.Effects, wes.Effect{ID: id, Kind: wes.EffectNotify, Notice: n, NotBefore: n.Time})
}

// sendNotices sends the notices in r's outbox (r as a store update returned it) and
// removes those sent. One that cannot be sent stays for the reconciler.
func (s *Service) sendNotices(ctx context.Context, r *wes.Run) {
	if s.deps.Notify == nil || r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	var sent []string
	for _, e := range r.Effects {
		if e.Kind != wes.EffectNotify || e.Notice == nil {
			continue
		}
		if err := s.deps.Notify.Notify(ctx, *e.Notice); err != nil {
			s.log.Warn("a notice could not be queued; the reconciler will send it", "run_id", r.ID, "notice", e.Notice.Kind, "err", err)
			continue
		}
		sent = append(sent, e.ID)
	}
	if len(sent) == 0 {
		return
	}
	_, err := s.deps.Store.Update(ctx, r.ID, func(cur *wes.Run) error {
		n := len(cur.Effects)
		cur.Effects = slices.DeleteFunc(cur.Effects, func(e wes.Effect) bool { return slices.Contains(sent, e.ID) })
		if len(cur.Effects) == 0 {
			cur.Effects = nil
		}
		if len(cur.Effects) == n {
			return errNothingSent // the reconciler removed them first
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNothingSent) {
		s.log.Warn("sent notices stay in the run's outbox; the reconciler will send them again (receivers de-duplicate by id)", "run_id", r.ID, "err", err)
	}
}

var errNothingSent = errors.New("no sent notice left in the outbox")

// ownerEmail is the address kept on a new run for mailing its owner: the caller's
// e-mail claim, only when owners are mailed at all.
func (s *Service) ownerEmail(p *wes.Principal) string {
	m, ok := s.deps.Notify.(interface{ MailsOwners() bool })
	if !ok || !m.MailsOwners() {
		return ""
	}
	return p.Email
}
