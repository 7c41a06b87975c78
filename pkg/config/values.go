package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
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

// byteUnits maps a unit, in lower case, to its factor.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseByteSize parses a size such as "1048576", "100MiB" or "2 GB". Units are case
// insensitive; KB, MB, ... are powers of 1000, KiB, MiB, ... powers of 1024.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	factor, ok := byteUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if i == 0 || !ok {
		return 0, fmt.Errorf("want %s, got %q", kindName(new(ByteSize)), s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n > math.MaxInt64/factor {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(n * factor), nil
}

// String renders b with the largest unit that divides it exactly, e.g. "256MiB".
func (b ByteSize) String() string {
	for _, u := range []struct {
		name   string
		factor int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if b != 0 && int64(b)%u.factor == 0 {
			return strconv.FormatInt(int64(b)/u.factor, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalText renders b as String does, so YAML and JSON show "256MiB".
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText parses what ParseByteSize accepts.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// formatDuration renders d without trailing zero units: "2m", not "2m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
