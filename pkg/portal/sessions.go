package portal

import (
	"net/http"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Sessions is who is logged in to the portal, and how they log in and out.
// pkg/portal/session implements it with OIDC login; Anonymous is the one for auth off.
type Sessions interface {
	// Principal is the user of r's session; (nil, nil) when nobody is logged in.
	Principal(r *http.Request) (*wes.Principal, error)
	// CSRFToken is the token every form shown to r's session sends back in the field "csrf".
	// It may set a cookie on w (the anonymous implementation does).
	CSRFToken(w http.ResponseWriter, r *http.Request) string
	// ValidCSRF reports whether the posted form's "csrf" field belongs to r's session.
	ValidCSRF(r *http.Request) bool
	// Handler serves the routes under <prefix>auth/: GET auth/login?return=<path>,
	// GET auth/callback, POST auth/logout (with csrf). nil when there is no login (auth off).
	Handler() http.Handler
	// LoginRequired reports whether pages need a logged-in user (false with auth off: every
	// visitor is the anonymous user, and each page says so).
	LoginRequired() bool
}
