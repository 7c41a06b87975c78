package engines

import (
	"regexp"
	"strconv"
	"strings"
)

// FieldPath renders a location in workflow_params (JSON object keys and array indexes) as
// workflow_params.a.b[0], for messages. A key a client made up is quoted and cut short, so a
// message never carries more of it than a person needs to find it.
func FieldPath(loc []string) string {
	var b strings.Builder
	b.WriteString("workflow_params")
	for _, tok := range loc {
		switch {
		case isIndex(tok):
			b.WriteString("[" + tok + "]")
		case plainName.MatchString(tok):
			b.WriteString("." + tok)
		default:
			b.WriteString("[" + QuoteValue(tok) + "]")
		}
	}
	return b.String()
}

// QuoteValue quotes a client's value for a message, cut to 64 bytes.
func QuoteValue(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}

var plainName = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_-]{0,63}$`)

func isIndex(tok string) bool {
	_, err := strconv.Atoi(tok)
	return err == nil && !strings.HasPrefix(tok, "-") && !strings.HasPrefix(tok, "+")
}
