package auth

import (
	"slices"
	"strings"
	"unicode"

	"github.com/spe4hd/enclave/pkg/wes"
)

// maxSubjectBytes bounds the subject, which becomes the owner key of runs.
const maxSubjectBytes = 255

// principal builds the caller from verified claims and applies the access rules.
func (a *Authenticator) principal(claims map[string]any) (*wes.Principal, error) {
	c := a.cfg.Claims
	sub := stringClaim(claims, c.Subject)
	if sub == "" || len(sub) > maxSubjectBytes || strings.IndexFunc(sub, unicode.IsControl) >= 0 {
		return nil, a.unauthorized("its subject claim (" + c.Subject + ") is missing or not usable")
	}
	groups := listClaim(claims, c.Groups)
	for _, e := range listClaim(claims, c.Entitlements) {
		if !slices.Contains(groups, e) {
			groups = append(groups, e)
		}
	}
	p := &wes.Principal{
		Subject: sub,
		Name:    stringClaim(claims, c.Name),
		Email:   stringClaim(claims, c.Email),
		Groups:  groups,
	}
	if s := a.cfg.RequiredScope; s != "" && !slices.Contains(scopes(claims), s) {
		a.log.Debug("token refused: required scope missing", "sub", sub)
		return nil, wes.Errorf(wes.EFORBIDDEN, "the token lacks the scope %q this service requires; log in again asking for it", s)
	}
	if e := a.cfg.RequiredEntitlement; e != "" && !slices.Contains(groups, e) {
		a.log.Debug("user refused: required entitlement missing", "sub", sub)
		return nil, wes.Errorf(wes.EFORBIDDEN, "your account lacks the entitlement %q this service requires; ask the service's operators for access", e)
	}
	r := a.cfg.Roles
	for _, m := range []struct {
		role   string
		grants []string
	}{{wes.RoleResearcher, r.Researcher}, {wes.RoleDataController, r.DataController}, {wes.RoleAdmin, r.Admin}} {
		if anyIn(m.grants, groups) || (m.role == wes.RoleResearcher && a.cfg.AllUsersAreResearchers) {
			p.Roles = append(p.Roles, m.role)
		}
	}
	if len(p.Roles) == 0 {
		a.log.Debug("user refused: no Enclave role", "sub", sub)
		return nil, wes.Errorf(wes.EFORBIDDEN,
			"your account holds no Enclave role (researcher, data-controller or admin); ask the service's operators for access")
	}
	return p, nil
}

// lacksClaims reports whether a configured profile claim is missing from the token, so
// that userinfo may have it.
func (a *Authenticator) lacksClaims(claims map[string]any) bool {
	c := a.cfg.Claims
	for _, name := range []string{c.Name, c.Email, c.Groups, c.Entitlements} {
		if _, ok := claims[name]; !ok {
			return true
		}
	}
	return false
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// stringClaim returns a string claim, or "".
func stringClaim(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}

// listClaim returns a claim that is a list of strings or a single string (providers
// differ); other values count as absent.
func listClaim(claims map[string]any, name string) []string {
	switch v := claims[name].(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// scopes returns the token's scopes: "scope" (space-separated, RFC 8693/9068) or "scp"
// (a list or a string, as some providers send).
func scopes(claims map[string]any) []string {
	if s, ok := claims["scope"].(string); ok {
		return strings.Fields(s)
	}
	var out []string
	for _, s := range listClaim(claims, "scp") {
		out = append(out, strings.Fields(s)...)
	}
	return out
}
