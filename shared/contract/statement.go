package contract

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Parameters a definition's SQL may use. Both are DATE.
const (
	ParamStartDate = "start_date"
	ParamEndDate   = "end_date"
)

// CheckStatement checks, before BigQuery sees it, that sql is one SELECT
// statement (SELECT, WITH or a parenthesised query) and that it uses no
// query parameters but @start_date and @end_date. Comments, string
// literals and quoted identifiers are skipped, so a ';' or '@' inside them
// is not mistaken for one in the statement.
//
// BigQuery's dry run checks the statement type again in production; the
// local emulator reports none, so this check is what stands there.
func CheckStatement(sql string) error {
	toks, err := scan(sql)
	if err != nil {
		return fmt.Errorf("contract: %w", err)
	}
	if len(toks) == 0 {
		return errors.New("contract: the SQL is empty: write one SELECT statement")
	}

	first := strings.ToUpper(toks[0].text)
	if first != "SELECT" && first != "WITH" && first != "(" {
		return fmt.Errorf("contract: the SQL starts with %s: a definition is one SELECT "+
			"statement (SELECT or WITH ...), never DML, DDL or a script", toks[0].text)
	}

	var bad []string
	for i, t := range toks {
		switch {
		case t.text == ";" && i != len(toks)-1:
			return fmt.Errorf("contract: more than one statement (a ';' at line %d): "+
				"a definition is one SELECT statement", t.line)
		case strings.HasPrefix(t.text, "@@"):
			return fmt.Errorf("contract: system variable %s at line %d: scripts are not allowed", t.text, t.line)
		case strings.HasPrefix(t.text, "@"):
			name := strings.ToLower(t.text[1:])
			if name != ParamStartDate && name != ParamEndDate && !contains(bad, t.text) {
				bad = append(bad, t.text)
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("contract: unknown query parameter %s: only @start_date and @end_date "+
			"(both DATE) are given to a definition", strings.Join(bad, ", "))
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// token is a word, a parameter, '(' or ';' of the SQL outside comments,
// strings and quoted identifiers. Other punctuation is not kept.
type token struct {
	text string
	line int
	pos  int // byte offset in the SQL
}

// scan splits sql into the tokens CheckStatement looks at.
func scan(sql string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == '-' && strings.HasPrefix(sql[i:], "--"), c == '#':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("a /* comment opened at line %d is never closed", line)
			}
			line += strings.Count(sql[i:i+2+end], "\n")
			i += end + 4
		case c == '\'' || c == '"' || c == '`':
			n, err := quoted(sql[i:], line)
			if err != nil {
				return nil, err
			}
			line += strings.Count(sql[i:i+n], "\n")
			i += n
		case c == '@':
			j := i + 1
			for j < len(sql) && (sql[j] == '@' || isWord(sql[j])) {
				j++
			}
			toks = append(toks, token{sql[i:j], line, i})
			i = j
		case c == '(' || c == ';':
			toks = append(toks, token{string(c), line, i})
			i++
		case isWord(c):
			j := i
			for j < len(sql) && isWord(sql[j]) {
				j++
			}
			// A prefix such as r, b or rb directly before a quote makes a
			// literal.
			if j < len(sql) && (sql[j] == '\'' || sql[j] == '"') && isLiteralPrefix(sql[i:j]) {
				n, err := quoted(sql[j:], line)
				if err != nil {
					return nil, err
				}
				line += strings.Count(sql[j:j+n], "\n")
				i = j + n
				continue
			}
			toks = append(toks, token{sql[i:j], line, i})
			i = j
		default:
			i++
		}
	}
	return toks, nil
}

// quoted returns the length of the string literal or quoted identifier at
// the start of s, triple-quoted forms included. A backslash always takes
// the character after it into the literal, as GoogleSQL lexes it: even in
// a raw string, where it escapes nothing, the quote after a backslash
// does not end the literal. Each of these is one literal:
//
//	r'\''
//	'''a\''''
func quoted(s string, line int) (int, error) {
	q := s[:1]
	triple := q != "`" && len(s) >= 3 && s[:3] == strings.Repeat(q, 3)
	start := 1
	if triple {
		start = 3
	}
	for i := start; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case triple:
			if strings.HasPrefix(s[i:], s[:3]) {
				return i + 3, nil
			}
		case s[i] == s[0]:
			return i + 1, nil
		case s[i] == '\n' && q != "`":
			return 0, fmt.Errorf("a %s string opened at line %d runs past the end of its line", q, line)
		}
	}
	if triple {
		return 0, fmt.Errorf("a %s string opened at line %d is never closed", s[:3], line)
	}
	return 0, fmt.Errorf("a %s opened at line %d is never closed", q, line)
}

func isWord(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func isLiteralPrefix(w string) bool {
	switch strings.ToLower(w) {
	case "r", "b", "rb", "br":
		return true
	}
	return false
}

// Body returns sql without a final ';' and what follows it, ready to be
// wrapped in another query. Call it on SQL that CheckStatement accepted.
func Body(sql string) string {
	toks, err := scan(sql)
	if err != nil || len(toks) == 0 {
		return sql
	}
	if last := toks[len(toks)-1]; last.text == ";" {
		return sql[:last.pos]
	}
	return sql
}
