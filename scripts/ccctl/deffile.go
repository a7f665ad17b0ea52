package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"

	"customconversions.dev/shared/request"
)

// defFile is a definition file as kept in git, YAML or JSON:
//
//	id: orders
//	name: Paid orders
//	enabled: true
//	sql_file: orders.sql   # beside this file; or the SQL inline under sql
type defFile struct {
	ID      string `yaml:"id" json:"id"`
	Name    string `yaml:"name" json:"name"`
	SQL     string `yaml:"sql" json:"sql"`
	SQLFile string `yaml:"sql_file" json:"sql_file"`
	// Enabled is true when the file leaves it out.
	Enabled *bool `yaml:"enabled" json:"enabled"`
}

// fileDefinition is what a definition file says, read and checked.
type fileDefinition struct {
	ID, Name, SQL string
	Enabled       bool
}

// readDefFile reads the definition file at path. Its errors are usage
// errors that name the file and say what to fix.
func readDefFile(path string) (fileDefinition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return fileDefinition{}, usageError(err)
	}
	d, err := parseDefFile(data, strings.EqualFold(filepath.Ext(path), ".json"))
	if err != nil {
		return fileDefinition{}, usagef("%s: %w", path, err)
	}
	if d.SQL == "" {
		sqlPath := filepath.Join(filepath.Dir(path), d.sqlFile)
		b, err := os.ReadFile(sqlPath)
		if err != nil {
			return fileDefinition{}, usagef("%s: sql_file: %w", path, err)
		}
		d.SQL = strings.TrimSpace(string(b))
		if d.SQL == "" {
			return fileDefinition{}, usagef("%s: sql_file %s is empty", path, sqlPath)
		}
	}
	return d.fileDefinition, nil
}

// parsed is a parsed file: the definition, and the SQL file to read
// when the SQL is not inline.
type parsed struct {
	fileDefinition
	sqlFile string
}

// parseDefFile decodes a definition file, refusing unknown fields so that
// a misspelt one does not pass unnoticed, and checks its fields.
func parseDefFile(data []byte, isJSON bool) (parsed, error) {
	var f defFile
	if isJSON {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return parsed{}, fmt.Errorf("not a definition file: %w", err)
		}
	} else if err := yaml.UnmarshalWithOptions(data, &f, yaml.DisallowUnknownField()); err != nil {
		return parsed{}, fmt.Errorf("not a definition file: %w", err)
	}

	if f.ID == "" {
		return parsed{}, errors.New("id is missing: give the conversion's id, such as orders")
	}
	if err := request.CheckID("id", f.ID); err != nil {
		return parsed{}, err
	}
	p := parsed{
		fileDefinition: fileDefinition{ID: f.ID, Name: strings.TrimSpace(f.Name),
			SQL: strings.TrimSpace(f.SQL), Enabled: f.Enabled == nil || *f.Enabled},
		sqlFile: strings.TrimSpace(f.SQLFile),
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	switch {
	case p.SQL != "" && p.sqlFile != "":
		return parsed{}, errors.New("both sql and sql_file are set: keep one")
	case p.SQL == "" && p.sqlFile == "":
		return parsed{}, errors.New("no SQL: set sql to the query, or sql_file to a file beside " +
			"this one")
	}
	return p, nil
}
