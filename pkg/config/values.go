package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/config/confkit"
)

// setValue stores v, as the YAML parser or the environment gave it, into the field ptr
// points at. It refuses lossy guesses: a YAML number where a string is wanted must be
// quoted ("1.10" is not 1.1), and a duration needs a unit (10 is not 10ns). text is true
// for values from the environment or a flag, where a list is comma-separated; in YAML a
// list must be a list.
func setValue(ptr any, v any, text bool) error {
	if v == nil { // "key:" with no value in YAML: the zero value
		return zeroValue(ptr)
	}
	switch p := ptr.(type) {
	case *string:
		s, ok := v.(string)
		if !ok {
			return wrongType(ptr, v)
		}
		*p = s
	case *int:
		n, err := toInt(v)
		if err != nil {
			return err
		}
		*p = n
	case *bool:
		switch b := v.(type) {
		case bool:
			*p = b
		case string:
			x, err := strconv.ParseBool(strings.TrimSpace(b))
			if err != nil {
				return fmt.Errorf("want true or false, got %q", b)
			}
			*p = x
		default:
			return wrongType(ptr, v)
		}
	case *time.Duration:
		s, ok := v.(string)
		if !ok {
			return wrongType(ptr, v)
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want %s, got %q", kindName(ptr), s)
		}
		*p = d
	case *ByteSize:
		switch x := v.(type) {
		case string:
			b, err := ParseByteSize(x)
			if err != nil {
				return err
			}
			*p = b
		default:
			n, err := toInt(v)
			if err != nil {
				return wrongType(ptr, v)
			}
			*p = ByteSize(n)
		}
	case *[]string:
		switch x := v.(type) {
		case string:
			if !text {
				return wrongType(ptr, v)
			}
			out := []string{}
			for _, s := range strings.Split(x, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			*p = out
		case []any:
			out := make([]string, 0, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("item %d: want a string, got %s (quote it)", i, describe(e))
				}
				out = append(out, s)
			}
			*p = out
		default:
			return wrongType(ptr, v)
		}
	case *Webhooks:
		return p.set(v, text)
	default:
		return fmt.Errorf("unsupported field type %T", ptr)
	}
	return nil
}

func zeroValue(ptr any) error {
	switch p := ptr.(type) {
	case *string:
		*p = ""
	case *int:
		*p = 0
	case *bool:
		*p = false
	case *time.Duration:
		*p = 0
	case *ByteSize:
		*p = 0
	case *[]string:
		*p = []string{}
	case *Webhooks:
		*p = Webhooks{}
	default:
		return fmt.Errorf("unsupported field type %T", ptr)
	}
	return nil
}

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		if x > math.MaxInt || x < math.MinInt {
			return 0, fmt.Errorf("%d is out of range", x)
		}
		return int(x), nil
	case uint64:
		if x > math.MaxInt {
			return 0, fmt.Errorf("%d is out of range", x)
		}
		return int(x), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %q", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want an integer, got %s", describe(v))
}

func wrongType(ptr any, v any) error {
	msg := fmt.Sprintf("want %s, got %s", kindName(ptr), describe(v))
	if _, isString := ptr.(*string); isString {
		if _, isMap := v.(map[string]any); !isMap {
			msg += " (quote it)"
		}
	}
	return errors.New(msg)
}

// describe names a parsed YAML value's kind and shows scalars.
func describe(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return strconv.Quote(x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case int, int64, uint64, float64:
		return fmt.Sprintf("the number %v", x)
	}
	return fmt.Sprintf("%T", v)
}

// ByteSize is a number of bytes (see confkit.ByteSize): "256MiB" in the file.
type ByteSize = confkit.ByteSize

// ParseByteSize parses a size such as "1048576", "100MiB" or "2 GB" (confkit.ParseByteSize).
func ParseByteSize(s string) (ByteSize, error) { return confkit.ParseByteSize(s) }

// formatDuration renders d without trailing zero units: "2m", not "2m0s".
func formatDuration(d time.Duration) string { return confkit.FormatDuration(d) }
