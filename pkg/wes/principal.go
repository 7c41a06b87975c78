package wes

import "context"

// Role names used for authorisation decisions.
const (
	RoleResearcher     = "researcher"
	RoleDataController = "data-controller"
	RoleAdmin          = "admin"
)

// Principal is the authenticated caller of a request.
type Principal struct {
	Subject string   // stable id (OIDC sub); owner key of runs
	Name    string   // display name
	Email   string   //
	Groups  []string // groups or entitlements from the token
	Roles   []string // Enclave roles derived from claims
}

// HasRole reports whether p holds role r.
func (p *Principal) HasRole(r string) bool {
	if p == nil {
		return false
	}
	for _, x := range p.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// SeesAllRuns reports whether p may see every user's runs (data controllers and admins).
func (p *Principal) SeesAllRuns() bool {
	return p.HasRole(RoleAdmin) || p.HasRole(RoleDataController)
}

// Anonymous is the principal used when authentication is switched off.
var Anonymous = &Principal{Subject: "anonymous", Name: "anonymous", Roles: []string{RoleResearcher, RoleAdmin}}

type principalKey struct{}

// NewContextWithPrincipal returns a context carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal in ctx, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
