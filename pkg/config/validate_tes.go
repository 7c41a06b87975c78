package config

import (
	"fmt"
	"net/url"
	"strings"
)

// validateTES checks the keys of an enabled tes executor.
func validateTES(v *validator, t TESExecutorConfig) {
	u, err := url.Parse(t.URL)
	switch {
	case t.URL == "":
		v.add("executor.tes.url", "required when executor.tes.enabled is true: the TES API's base URL, e.g. https://tes.zone.internal/ga4gh/tes/v1")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.add("executor.tes.url", "must be an http or https URL")
	case u.User != nil:
		v.add("executor.tes.url", "must not carry credentials: use executor.tes.token or username and password")
	}
	v.check("executor.tes.image", t.Image != "", "required when executor.tes.enabled is true")
	v.check("executor.tes.token", t.Token == "" || (t.Username == "" && t.Password == ""), "set token or username and password, not both")
	v.check("executor.tes.password", (t.Username == "") == (t.Password == ""), "username and password go together")
	for i, d := range t.AllowedDirs {
		v.check(fmt.Sprintf("executor.tes.allowed_dirs[%d]", i), strings.HasPrefix(d, "/"), "must be an absolute path")
	}
	v.positiveDuration("executor.tes.timeout", t.Timeout)
}
