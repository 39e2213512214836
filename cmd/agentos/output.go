package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// rawJSON keeps a result as sent, so --json prints exactly what the engine said.
type rawJSON json.RawMessage

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

func (r rawJSON) decode(v any) error {
	if err := json.Unmarshal(r, v); err != nil {
		return fmt.Errorf("decode engine reply: %w", err)
	}
	return nil
}

func printJSON(w io.Writer, raw rawJSON) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("format reply: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer) *table {
	return &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

// oneLine keeps a cell on one line and out of the column separator.
var oneLine = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")

func (t *table) row(cols ...string) {
	for i, c := range cols {
		cols[i] = oneLine.Replace(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// show renders a field value for a table cell.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return showTime(x)
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
		return fmt.Sprint(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// showTime shows a stored time the one way the CLI shows times: a date
// without a time of day (stored as midnight UTC: due: 2027-04-15) as that
// date, any other as local time like the created and updated columns; a
// string that is not a time, as it is.
func showTime(s string) string {
	if len(s) < 20 || s[4] != '-' || s[10] != 'T' {
		return s
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	if u := t.UTC(); u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0 {
		return u.Format(time.DateOnly)
	}
	return t.Local().Format(time.DateTime)
}
