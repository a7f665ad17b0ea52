package store

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"customconversions.dev/shared/failure"
)

// ErrNotFound matches the error for a document that does not exist.
var ErrNotFound = errors.New("not found")

// Store reads and writes the documents. The Firestore client honours
// FIRESTORE_EMULATOR_HOST.
type Store struct {
	fs *firestore.Client
}

// New returns a Store on project's default database.
func New(ctx context.Context, project string) (*Store, error) {
	fs, err := firestore.NewClient(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{fs: fs}, nil
}

// FromClient returns a Store on an existing Firestore client, which Close
// then closes.
func FromClient(fs *firestore.Client) *Store { return &Store{fs: fs} }

// Close closes the client.
func (s *Store) Close() error { return s.fs.Close() }

func (s *Store) client(id string) *firestore.DocumentRef {
	return s.fs.Collection("clients").Doc(id)
}

// Client reads clients/{id}. A missing document is a permanent error
// matching ErrNotFound.
func (s *Store) Client(ctx context.Context, id string) (Client, error) {
	snap, err := s.client(id).Get(ctx)
	if err != nil {
		return Client{}, fail(fmt.Errorf("store: reading client %s: %w", id, err))
	}
	var c Client
	if err := snap.DataTo(&c); err != nil {
		return Client{}, failure.Permanent(fmt.Errorf("store: client %s: %w: fix the document", id, err))
	}
	c.ID = id
	return c, nil
}

// PutClient writes c, replacing the document.
func (s *Store) PutClient(ctx context.Context, c Client) error {
	if _, err := s.client(c.ID).Set(ctx, c); err != nil {
		return fail(fmt.Errorf("store: writing client %s: %w", c.ID, err))
	}
	return nil
}

// Clients lists every client, by id.
func (s *Store) Clients(ctx context.Context) ([]Client, error) {
	snaps, err := s.fs.Collection("clients").Documents(ctx).GetAll()
	if err != nil {
		return nil, fail(fmt.Errorf("store: listing clients: %w", err))
	}
	var cs []Client
	for _, snap := range snaps {
		var c Client
		if err := snap.DataTo(&c); err != nil {
			return nil, fmt.Errorf("store: client %s: %w", snap.Ref.ID, err)
		}
		c.ID = snap.Ref.ID
		cs = append(cs, c)
	}
	return cs, nil
}

func (s *Store) definition(client, id string) *firestore.DocumentRef {
	return s.client(client).Collection("conversions").Doc(id)
}

// Definition reads clients/{client}/conversions/{id}. A missing document
// is a permanent error matching ErrNotFound.
func (s *Store) Definition(ctx context.Context, client, id string) (Definition, error) {
	snap, err := s.definition(client, id).Get(ctx)
	if err != nil {
		return Definition{}, fail(fmt.Errorf("store: reading conversion %s of client %s: %w", id, client, err))
	}
	return toDefinition(snap)
}

func toDefinition(snap *firestore.DocumentSnapshot) (Definition, error) {
	var d Definition
	if err := snap.DataTo(&d); err != nil {
		return Definition{}, failure.Permanent(fmt.Errorf("store: conversion %s: %w: fix the document",
			snap.Ref.ID, err))
	}
	d.ID = snap.Ref.ID
	return d, nil
}

// Definitions lists a client's conversions, enabled or not, by id.
func (s *Store) Definitions(ctx context.Context, client string) ([]Definition, error) {
	snaps, err := s.client(client).Collection("conversions").Documents(ctx).GetAll()
	if err != nil {
		return nil, fail(fmt.Errorf("store: listing conversions of client %s: %w", client, err))
	}
	var ds []Definition
	for _, snap := range snaps {
		d, err := toDefinition(snap)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
	return ds, nil
}

// PutDefinition writes d under client, replacing the document.
func (s *Store) PutDefinition(ctx context.Context, client string, d Definition) error {
	if _, err := s.definition(client, d.ID).Set(ctx, d); err != nil {
		return fail(fmt.Errorf("store: writing conversion %s of client %s: %w", d.ID, client, err))
	}
	return nil
}

func (s *Store) run(client, id string) *firestore.DocumentRef {
	return s.client(client).Collection("runs").Doc(id)
}

// CreateRun writes r unless a run of that id exists. It returns the run
// as stored and whether this call created it; a redelivered message gets
// the run its first delivery created.
func (s *Store) CreateRun(ctx context.Context, r Run) (Run, bool, error) {
	_, err := s.run(r.ClientID, r.ID).Create(ctx, r)
	if err == nil {
		return r, true, nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return Run{}, false, fail(fmt.Errorf("store: creating run %s: %w", r.ID, err))
	}
	got, err := s.Run(ctx, r.ClientID, r.ID)
	return got, false, err
}

// Run reads one run.
func (s *Store) Run(ctx context.Context, client, id string) (Run, error) {
	snap, err := s.run(client, id).Get(ctx)
	if err != nil {
		return Run{}, fail(fmt.Errorf("store: reading run %s of client %s: %w", id, client, err))
	}
	return toRun(snap)
}

func toRun(snap *firestore.DocumentSnapshot) (Run, error) {
	var r Run
	if err := snap.DataTo(&r); err != nil {
		return Run{}, failure.Permanent(fmt.Errorf("store: run %s: %w", snap.Ref.ID, err))
	}
	r.ID = snap.Ref.ID
	if r.Jobs == nil {
		r.Jobs = map[string]string{}
	}
	return r, nil
}

// ErrNoChange, returned by an UpdateRun change, leaves the run as it is
// without failing the update.
var ErrNoChange = errors.New("store: no change")

// UpdateRun applies change to the stored run in a transaction, so that
// two deliveries handled at once see each other's writes. change may be
// called more than once; it returns an error to leave the run as it was.
// UpdateRun returns the run as stored after the change.
func (s *Store) UpdateRun(ctx context.Context, client, id string, change func(*Run) error) (Run, error) {
	var out Run
	ref := s.run(client, id)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if err != nil {
			return err
		}
		r, err := toRun(snap)
		if err != nil {
			return err
		}
		err = change(&r)
		if errors.Is(err, ErrNoChange) {
			out, _ = toRun(snap)
			return nil
		}
		if err != nil {
			return err
		}
		out = r
		return tx.Set(ref, r)
	})
	if err != nil {
		return Run{}, fail(fmt.Errorf("store: updating run %s of client %s: %w", id, client, err))
	}
	return out, nil
}

// Runs lists a client's runs, newest first, at most limit of them; with
// conversion set, only that conversion's.
func (s *Store) Runs(ctx context.Context, client, conversion string, limit int) ([]Run, error) {
	q := s.client(client).Collection("runs").OrderBy("created", firestore.Desc)
	if conversion != "" {
		q = s.client(client).Collection("runs").Where("conversion_id", "==", conversion).
			OrderBy("created", firestore.Desc)
	}
	snaps, err := q.Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, fail(fmt.Errorf("store: listing runs of client %s: %w", client, err))
	}
	var rs []Run
	for _, snap := range snaps {
		r, err := toRun(snap)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// fail marks err permanent when Firestore's answer cannot change on a
// retry, and makes a missing document match ErrNotFound.
func fail(err error) error {
	if failure.IsPermanent(err) {
		return err
	}
	switch status.Code(err) {
	case codes.NotFound:
		return failure.Permanent(fmt.Errorf("%w (%w)", err, ErrNotFound))
	case codes.InvalidArgument, codes.PermissionDenied, codes.FailedPrecondition:
		return failure.Permanent(err)
	}
	return err
}
