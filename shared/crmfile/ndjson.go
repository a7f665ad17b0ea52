package crmfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"cloud.google.com/go/bigquery"
	"customconversions.dev/shared/contract"
)

// object is a JSON object that keeps its keys in file order.
type object struct {
	keys []string
	vals map[string]any // nil, bool, json.Number, string, *object or []any
}

// jsonRecord is one line's object.
type jsonRecord struct {
	line int
	obj  *object
}

func readNDJSON(br *bufio.Reader, name string, opts Options) (*Data, error) {
	var recs []jsonRecord
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Line: line, Problem: "reading: " + err.Error(), Err: err}
		}
		if len(bytes.TrimSpace(b)) > 0 {
			obj, e := decodeLine(b)
			if e != nil {
				e.File, e.Line = name, line
				return nil, e
			}
			if opts.Schema == nil { // a schema's key/value fields fold objects themselves
				if e := foldObject(obj, opts.PropertiesField); e != nil {
					e.File, e.Line = name, line
					return nil, e
				}
			}
			recs = append(recs, jsonRecord{line: line, obj: obj})
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if len(recs) == 0 {
		return nil, &Error{File: name, Problem: "the file has no records",
			Fix: "write one JSON object per line"}
	}
	has := func(c string) bool {
		for _, r := range recs {
			if indexFold(r.obj.keys, c) >= 0 {
				return true
			}
		}
		return false
	}
	if err := checkRequire(name, Options{Require: opts.Require}, has); err != nil {
		return nil, err
	}

	schema := opts.Schema
	if schema == nil {
		var err error
		if schema, err = inferJSON(name, recs); err != nil {
			return nil, err
		}
	}
	d := &Data{File: name, Schema: schema, Rows: make([]Row, 0, len(recs))}
	for _, r := range recs {
		vals, e := convertObject(r.obj, schema, opts, "")
		if e != nil {
			e.File, e.Line = name, r.line
			return nil, e
		}
		d.Rows = append(d.Rows, Row{Line: r.line, Values: vals})
	}
	return d, nil
}

// decodeLine decodes one line holding one JSON object.
func decodeLine(b []byte) (*object, *Error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err == nil {
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("more than one JSON value on the line")
		}
	}
	if err != nil {
		problem := "bad JSON: " + err.Error()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			problem = fmt.Sprintf("bad JSON at character %d: %v", se.Offset, err)
		}
		return nil, &Error{Problem: problem,
			Fix: "write one complete JSON object per line (newline-delimited JSON), " +
				"not a JSON array or a pretty-printed object", Err: err}
	}
	obj, ok := v.(*object)
	if !ok {
		return nil, &Error{Problem: "the line is not a JSON object",
			Fix: "write one JSON object per line"}
	}
	return obj, nil
}

// decodeValue reads one JSON value, keeping object keys in order.
func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		obj := &object{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key := kt.(string) // the decoder only yields strings as keys
			if _, dup := obj.vals[key]; dup {
				return nil, fmt.Errorf("key %q appears twice in one object", key)
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			obj.keys = append(obj.keys, key)
			obj.vals[key] = v
		}
		_, err := dec.Token() // '}'
		return obj, err
	case json.Delim('['):
		arr := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token() // ']'
		return arr, err
	}
	return tok, nil
}

// foldObject turns the properties field of a record, when it is an object
// ({"country": "UK"}), into the array form ([{"key": "country", "value":
// "UK"}]), in the object's key order.
func foldObject(rec *object, field string) *Error {
	i := indexFold(rec.keys, field)
	if i < 0 {
		return nil
	}
	name := rec.keys[i]
	obj, ok := rec.vals[name].(*object)
	if !ok {
		return nil
	}
	entries, e := keyValues(obj, name, "key", "value")
	if e != nil {
		return e
	}
	rec.vals[name] = entries
	return nil
}

// keyValues turns an object of scalars into key/value entries named by
// the given field names. Numbers and booleans keep their JSON text.
func keyValues(obj *object, path, keyName, valueName string) ([]any, *Error) {
	entries := make([]any, 0, len(obj.keys))
	for _, k := range obj.keys {
		var v any
		switch x := obj.vals[k].(type) {
		case nil:
		case string:
			v = x
		case json.Number:
			v = string(x)
		case bool:
			v = fmt.Sprint(x)
		default:
			return nil, &Error{Column: path + "." + k,
				Problem: "a properties object may hold only strings, numbers and booleans",
				Fix:     "flatten the value into a string"}
		}
		entries = append(entries, &object{
			keys: []string{keyName, valueName},
			vals: map[string]any{keyName: k, valueName: v},
		})
	}
	return entries, nil
}

// convertObject reads a JSON object as a row (or record) of schema.
func convertObject(obj *object, schema bigquery.Schema, opts Options,
	path string) ([]bigquery.Value, *Error) {
	vals := make([]bigquery.Value, len(schema))
	given := make([]bool, len(schema))
	for _, k := range obj.keys {
		i := fieldIndex(schema, k)
		if i < 0 {
			return nil, &Error{Column: path + k, Problem: "the field is not in the schema",
				Fix: "add it to the schema or remove it from the file"}
		}
		if given[i] {
			return nil, &Error{Column: path + k,
				Problem: "the field is given twice, spelled in different case",
				Fix:     "keep one of them: column names are compared without case"}
		}
		v, e := convertJSON(obj.vals[k], schema[i], opts, path+schema[i].Name)
		if e != nil {
			return nil, e
		}
		vals[i], given[i] = v, true
	}
	for i, f := range schema {
		if f.Required && vals[i] == nil {
			return nil, &Error{Column: path + f.Name,
				Problem: "missing or null, but the schema marks the field REQUIRED",
				Fix:     "give it a value, or make it NULLABLE in the schema"}
		}
	}
	return vals, nil
}

// convertJSON reads a JSON value as field f.
func convertJSON(v any, f *bigquery.FieldSchema, opts Options,
	path string) (bigquery.Value, *Error) {
	if v == nil {
		return nil, nil
	}
	if f.Repeated {
		arr, ok := v.([]any)
		if obj, isObj := v.(*object); isObj && isKeyValue(f) {
			var e *Error
			if arr, e = keyValues(obj, path, f.Schema[0].Name, f.Schema[1].Name); e != nil {
				return nil, e
			}
			ok = true
		}
		if !ok {
			return nil, &Error{Column: path, Problem: "expected an array, found " + describe(v),
				Fix: "write the field as a JSON array, or fix its mode in the schema"}
		}
		one := *f
		one.Repeated = false
		out := make([]bigquery.Value, len(arr))
		for i, el := range arr {
			p := fmt.Sprintf("%s[%d]", path, i)
			if el == nil {
				return nil, &Error{Column: p, Problem: "null inside an array",
					Fix: "remove it: BigQuery arrays cannot hold NULL"}
			}
			val, e := convertJSON(el, &one, opts, p)
			if e != nil {
				return nil, e
			}
			out[i] = val
		}
		return out, nil
	}
	if f.Type == bigquery.RecordFieldType {
		obj, ok := v.(*object)
		if !ok {
			return nil, &Error{Column: path, Problem: "expected an object, found " + describe(v),
				Fix: "write the field as a JSON object, or fix its type in the schema"}
		}
		vals, e := convertObject(obj, f.Schema, opts, path+".")
		if e != nil {
			return nil, e
		}
		m := make(map[string]bigquery.Value, len(vals))
		for i, sf := range f.Schema {
			m[sf.Name] = vals[i]
		}
		return m, nil
	}
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case json.Number:
		text = string(x)
	case bool:
		if f.Type == bigquery.BooleanFieldType {
			return x, nil
		}
		if f.Type != bigquery.StringFieldType {
			return nil, &Error{Column: path,
				Problem: fmt.Sprintf("expected a %s value, found a boolean", contract.SQLType(f.Type)),
				Fix:     "fix the value or the field's type in the schema"}
		}
		text = fmt.Sprint(x)
	default:
		return nil, &Error{Column: path,
			Problem: fmt.Sprintf("expected a %s value, found %s", contract.SQLType(f.Type), describe(v)),
			Fix:     "fix the value or the field's type in the schema"}
	}
	val, e := convertText(text, f.Type, opts.Location)
	if e != nil {
		e.Column = path
	}
	return val, e
}

func describe(v any) string {
	switch v.(type) {
	case *object:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// node gathers what the values of one JSON field can be read as.
type node struct {
	shape  string // "", "scalar", "object" or "array"
	k      kind   // scalar: the kinds every value allows
	seen   bool   // a value other than null was seen
	fields []string
	kids   map[string]*node // object: by lower-cased name
	elem   *node            // array
	where  int              // line of the first value, for conflicts
}

// inferJSON infers the schema of NDJSON records (see package doc).
func inferJSON(file string, recs []jsonRecord) (bigquery.Schema, error) {
	root := &node{}
	for _, r := range recs {
		if e := root.add(r.obj, r.line, ""); e != nil {
			e.File, e.Line = file, r.line
			return nil, e
		}
	}
	s, e := root.schema("")
	if e != nil {
		e.File = file
		return nil, e
	}
	return s, nil
}

func (n *node) add(v any, line int, path string) *Error {
	if v == nil {
		return nil
	}
	shape := "scalar"
	switch v.(type) {
	case *object:
		shape = "object"
	case []any:
		shape = "array"
	}
	if n.shape == "" {
		n.shape, n.k, n.where = shape, kAll, line
	}
	if n.shape != shape {
		return &Error{Column: path,
			Problem: fmt.Sprintf("%s here, but line %d has a %s", describe(v), n.where, n.shape),
			Fix:     "give the field the same shape on every line, or give a schema"}
	}
	n.seen = true
	switch x := v.(type) {
	case *object:
		for _, key := range x.keys {
			kid := n.kids[strings.ToLower(key)]
			if kid == nil {
				if n.kids == nil {
					n.kids = map[string]*node{}
				}
				kid = &node{}
				n.kids[strings.ToLower(key)] = kid
				n.fields = append(n.fields, key)
			}
			if e := kid.add(x.vals[key], line, join(path, key)); e != nil {
				return e
			}
		}
	case []any:
		if n.elem == nil {
			n.elem = &node{}
		}
		for i, el := range x {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch el.(type) {
			case nil:
				return &Error{Column: p, Problem: "null inside an array",
					Fix: "remove it: BigQuery arrays cannot hold NULL"}
			case []any:
				return &Error{Column: p, Problem: "an array inside an array",
					Fix: "wrap the inner array in an object: BigQuery has no arrays of arrays"}
			}
			if e := n.elem.add(el, line, p); e != nil {
				return e
			}
		}
	default:
		n.k &= jsonKinds(x)
	}
	return nil
}

// isKeyValue reports whether the node is an object of exactly a key and
// a value field whose values are all scalars.
func (n *node) isKeyValue() bool {
	if n.shape != "object" || len(n.fields) != 2 {
		return false
	}
	k, v := n.kids["key"], n.kids["value"]
	return k != nil && v != nil && k.shape != "object" && k.shape != "array" &&
		v.shape != "object" && v.shape != "array"
}

// join appends a field name to a field path.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonKinds returns the types a JSON scalar can be read as. Strings stay
// strings unless they are dates or timestamps.
func jsonKinds(v any) kind {
	switch x := v.(type) {
	case bool:
		return kBool | kString
	case json.Number:
		return textKinds(string(x)) &^ kBool &^ kDate &^ kTimestamp
	case string:
		return textKinds(x) & (kDate | kTimestamp | kString)
	}
	return kString
}

// schema returns the fields of an object node.
func (n *node) schema(path string) (bigquery.Schema, *Error) {
	var s bigquery.Schema
	for _, name := range n.fields {
		kid := n.kids[strings.ToLower(name)]
		f, e := kid.field(name, join(path, name))
		if e != nil {
			return nil, e
		}
		s = append(s, f)
	}
	return s, nil
}

func (n *node) field(name, path string) (*bigquery.FieldSchema, *Error) {
	f := &bigquery.FieldSchema{Name: name, Type: bigquery.StringFieldType}
	if !columnNameRE.MatchString(name) {
		return nil, &Error{Column: path, Line: n.where,
			Problem: fmt.Sprintf("%q is not a valid column name", name),
			Fix:     "use letters, digits and _, starting with a letter or _"}
	}
	switch n.shape {
	case "scalar":
		f.Type = n.k.pick()
	case "object":
		sub, e := n.schema(path)
		if e != nil {
			return nil, e
		}
		if len(sub) == 0 {
			return nil, &Error{Column: path, Line: n.where, Problem: "the field only ever holds {}",
				Fix: "remove it or give it fields: a BigQuery RECORD needs at least one"}
		}
		f.Type, f.Schema = bigquery.RecordFieldType, sub
	case "array":
		if n.elem.isKeyValue() {
			// Properties stay text whatever their values look like, so
			// that the column has the shape the definitions' SQL expects.
			return keyValueField(name), nil
		}
		if n.elem.seen {
			el, e := n.elem.field(name, path)
			if e != nil {
				return nil, e
			}
			f.Type, f.Schema = el.Type, el.Schema
		}
		f.Repeated = true
	}
	return f, nil
}
