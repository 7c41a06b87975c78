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
		v.Add("executor.tes.url", "required when executor.tes.enabled is true: the TES API's base URL, e.g. https://tes.zone.internal/ga4gh/tes/v1")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.Add("executor.tes.url", "must be an http or https URL")
	case u.User != nil:
		v.Add("executor.tes.url", "must not carry credentials: use executor.tes.token or username and password")
	}
	v.Check("executor.tes.image", t.Image != "", "required when executor.tes.enabled is true")
	v.Check("executor.tes.token", t.Token == "" || (t.Username == "" && t.Password == ""), "set token or username and password, not both")
	v.Check("executor.tes.password", (t.Username == "") == (t.Password == ""), "username and password go together")
	for i, d := range t.AllowedDirs {
		v.Check(fmt.Sprintf("executor.tes.allowed_dirs[%d]", i), strings.HasPrefix(d, "/"), "must be an absolute path")
	}
	v.PositiveDuration("executor.tes.timeout", t.Timeout)
}
