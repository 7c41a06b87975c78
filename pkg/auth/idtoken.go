package auth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// PrincipalFromIDToken turns an OpenID Connect ID token that a relying party of this
// provider (the portal) received for its client clientID into the same principal an API
// token of that user gives: signature, issuer, times and audience (clientID) are checked
// as Authenticate checks them, then the role mapping and access rules apply. nonce, when
// not "", must equal the token's "nonce" claim (an ID token from a code exchange; a
// refreshed ID token may lack it and is checked with ""). accessToken, when userinfo is
// on and the ID token lacks configured claims, is what asks the userinfo endpoint.
// Errors are *wes.Error as Authenticate's; none contains a token.
func (a *Authenticator) PrincipalFromIDToken(ctx context.Context, idToken, clientID, nonce, accessToken string) (*wes.Principal, error) {
	switch {
	case clientID == "":
		return nil, fmt.Errorf("auth: an ID token is checked against a client id, and none was given")
	case len(idToken) > a.cfg.MaxTokenBytes:
		return nil, a.unauthorized(fmt.Sprintf("the ID token is longer than %d bytes", a.cfg.MaxTokenBytes))
	case strings.Count(idToken, ".") != 2:
		return nil, a.unauthorized("the ID token is not a signed JWT")
	}
	claims, err := a.verify(ctx, idToken, []string{clientID})
	if err != nil {
		return nil, err
	}
	if nonce != "" {
		got, _ := claims["nonce"].(string)
		if subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
			return nil, a.unauthorized("the ID token's nonce is not the one this login sent")
		}
	}
	if a.userinfo != nil && accessToken != "" && a.lacksClaims(claims) {
		if claims, err = a.withUserinfo(ctx, accessToken, claims); err != nil {
			return nil, err
		}
	}
	return a.principal(claims)
}
