package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxClockSkew bounds auth.oidc.clock_skew: more would keep expired tokens alive.
const maxClockSkew = 5 * time.Minute

// oidc checks the auth.oidc keys. Formats are checked in every mode, so a mistake shows
// before the mode is switched on; what oidc needs to work is required only in mode oidc.
func (v *validator) oidc(a AuthConfig) {
	o := a.OIDC
	on := a.Mode == "oidc"
	switch {
	case o.Issuer == "" && on:
		v.Add("auth.oidc.issuer", "is required with auth.mode oidc: the provider's issuer URL, e.g. https://login.aai.lifescience-ri.eu/oidc/ (or set auth.mode: none explicitly)")
	case o.Issuer != "":
		v.issuerURL("auth.oidc.issuer", o.Issuer)
	}
	v.Check("auth.oidc.audience", !on || o.ClientID != "" || len(o.Audience) > 0,
		"is empty and so is auth.oidc.client_id: name the client id(s) tokens must be issued for")
	for i, s := range o.Audience {
		v.Check(fmt.Sprintf("auth.oidc.audience[%d]", i), strings.TrimSpace(s) != "", "must not be empty")
	}
	for path, s := range map[string]string{
		"auth.oidc.claims.subject": o.Claims.Subject, "auth.oidc.claims.name": o.Claims.Name,
		"auth.oidc.claims.email": o.Claims.Email, "auth.oidc.claims.groups": o.Claims.Groups,
		"auth.oidc.claims.entitlements": o.Claims.Entitlements,
	} {
		v.Check(path, strings.TrimSpace(s) != "", "must name a claim")
	}
	for path, l := range map[string][]string{
		"auth.oidc.roles.admin": o.Roles.Admin, "auth.oidc.roles.data_controller": o.Roles.DataController,
		"auth.oidc.roles.researcher": o.Roles.Researcher,
	} {
		for i, s := range l {
			v.Check(fmt.Sprintf("%s[%d]", path, i), strings.TrimSpace(s) != "", "must not be empty")
		}
	}
	noRoles := len(o.Roles.Admin)+len(o.Roles.DataController)+len(o.Roles.Researcher) == 0
	v.Check("auth.oidc.roles", !on || !noRoles || o.AllUsersAreResearchers,
		"grants no role to any group or entitlement and auth.oidc.all_users_are_researchers is false: every user would get 403")
	v.Check("auth.oidc.algorithms", len(o.Algorithms) > 0, "must list at least one algorithm, e.g. RS256")
	for i, alg := range o.Algorithms {
		v.Check(fmt.Sprintf("auth.oidc.algorithms[%d]", i), slices.Contains(OIDCAlgorithms, alg),
			fmt.Sprintf("%q is not one of %s (none and HMAC are never accepted)", alg, strings.Join(OIDCAlgorithms, ", ")))
	}
	v.Check("auth.oidc.clock_skew", o.ClockSkew >= 0 && o.ClockSkew <= maxClockSkew,
		fmt.Sprintf("%s must be between 0s and %s", formatDuration(o.ClockSkew), formatDuration(maxClockSkew)))
	v.PositiveDuration("auth.oidc.jwks_refresh_interval", o.JWKSRefreshInterval)
	v.PositiveDuration("auth.oidc.userinfo.cache_ttl", o.Userinfo.CacheTTL)
	v.PositiveDuration("auth.oidc.discovery_timeout", o.DiscoveryTimeout)
	v.Check("auth.oidc.max_token_bytes", o.MaxTokenBytes >= 1<<10 && o.MaxTokenBytes <= 1<<20,
		fmt.Sprintf("%s must be between 1KiB and 1MiB", o.MaxTokenBytes))
}

// issuerURL checks an OIDC issuer: https, or http on loopback only (a local Dex).
func (v *validator) issuerURL(path, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.Add(path, "%q is not an absolute https URL, like https://login.example.org/oidc/", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		v.Add(path, "must not carry a user, query or fragment")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		v.Add(path, "%q must use https: plain http is accepted only on loopback (a local test provider)", s)
	}
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}
