package wesclient

import "fmt"

// FollowPages fetches the page at token and, when all is set, every following one,
// appending their items. It returns the items and the token of the page after the last
// one fetched ("" at the end). A server that hands out the same token twice would loop
// forever, so that is an error; what names the token in it ("page token", "cursor").
func FollowPages[T any](token string, all bool, what string, fetch func(token string) ([]T, string, error)) ([]T, string, error) {
	var items []T
	seen := map[string]bool{}
	for {
		page, next, err := fetch(token)
		if err != nil {
			return nil, "", err
		}
		items = append(items, page...)
		if !all || next == "" {
			return items, next, nil
		}
		if seen[next] {
			return nil, "", fmt.Errorf("server returned the %s %q twice", what, next)
		}
		seen[next] = true
		token = next
	}
}
