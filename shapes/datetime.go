package shapes

import (
	"math"
	"strings"
	"time"
)

// DatetimeLayout is how datetime values are stored: UTC, millisecond
// precision, fixed width, so that text order is time order.
const DatetimeLayout = "2006-01-02T15:04:05.000Z"

// Layouts tried for datetime text. time.Parse accepts a fractional second
// after the seconds field even when the layout has none, so each layout
// covers both forms. Layouts without a zone are read as UTC: the engine has
// no better idea of the writer's zone, and the choice is documented.
var (
	zonedLayouts = []string{
		time.RFC3339,               // 2024-05-01T09:30:00Z, 2024-05-01T09:30:00.123+02:00
		"2006-01-02T15:04:05Z0700", // +0200 without a colon, as some APIs write it
		"2006-01-02T15:04Z07:00",
		"2006-01-02 15:04:05Z07:00",
		"2006-01-02 15:04:05Z0700",
		"2006-01-02 15:04:05 Z07:00",
		"2006-01-02 15:04:05 Z0700",
	}
	utcLayouts = []string{
		"2006-01-02T15:04:05",
		"2006-01-02T15:04",
		"2006-01-02 15:04:05",
		"2006-01-02 15:04",
		"2006-01-02",
	}
	// Mail and RSS dates (RFC 1123/2822), with a numeric offset.
	mailLayouts = []string{
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04 -0700",
	}
)

// Unix timestamps above this magnitude are taken as milliseconds: as seconds
// they would lie past the year 5138, as milliseconds they are after 1973.
const unixMillisAbove = 1e11

const datetimeHint = "use RFC 3339 like 2024-05-01T09:30:00Z, YYYY-MM-DD, YYYY-MM-DD HH:MM, or unix seconds or milliseconds"

// toDatetime coerces v to the stored datetime form, or says why it cannot.
func toDatetime(v any) (string, string) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		var ok bool
		if t, ok = parseDatetime(x); !ok {
			return "", describe(v) + " is not a date or time (" + datetimeHint + ")"
		}
	default:
		n, ok := asNumber(v)
		if !ok {
			return "", describe(v) + " is not a date or time (" + datetimeHint + ")"
		}
		t = fromUnix(n)
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return "", describe(v) + " is out of range for a date (years 0000 to 9999)"
	}
	return t.UTC().Format(DatetimeLayout), ""
}

func parseDatetime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if n, ok := parseNumber(s); ok {
		return fromUnix(n), true
	}
	// RFC 3339 allows a lowercase t and z; Go's parser does not.
	iso := strings.ToUpper(s)
	for _, layout := range zonedLayouts {
		if t, err := time.Parse(layout, iso); err == nil {
			return t, true
		}
	}
	for _, layout := range utcLayouts {
		if t, err := time.ParseInLocation(layout, iso, time.UTC); err == nil {
			return t, true
		}
	}
	// Zone abbreviations are ambiguous (IST, CST), so only the ones that
	// mean UTC are accepted, rewritten as a numeric offset.
	for _, abbr := range []string{" GMT", " UTC", " UT", " Z"} {
		if rest, ok := strings.CutSuffix(s, abbr); ok {
			s = rest + " +0000"
			break
		}
	}
	for _, layout := range mailLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// fromUnix reads seconds or, by magnitude, milliseconds since 1970.
func fromUnix(n number) time.Time {
	if n.isInt {
		if n.i > unixMillisAbove || n.i < -unixMillisAbove {
			return time.UnixMilli(n.i).UTC()
		}
		return time.Unix(n.i, 0).UTC()
	}
	ms := n.f * 1000
	if math.Abs(n.f) > unixMillisAbove {
		ms = n.f
	}
	// Clamp before converting: out-of-range floats make int64() undefined,
	// and the year check that follows rejects the clamped value anyway.
	ms = math.Max(math.Min(math.Round(ms), 1e17), -1e17)
	return time.UnixMilli(int64(ms)).UTC()
}
