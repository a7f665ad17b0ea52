package store

import (
	"context"
	"fmt"
)

// maxIn is the most values Firestore takes in one "in" filter.
const maxIn = 30

// RunsByMessage returns the client's runs that the Pub/Sub messages with
// the given ids started, in no set order. A message that names a
// conversion starts one run; one that names none, a run per enabled
// conversion; one not handled yet, none. It reads Firestore once per 30
// ids.
func (s *Store) RunsByMessage(ctx context.Context, client string,
	messageIDs []string) ([]Run, error) {
	var rs []Run
	for i := 0; i < len(messageIDs); i += maxIn {
		ids := messageIDs[i:min(i+maxIn, len(messageIDs))]
		snaps, err := s.client(client).Collection("runs").Where("message_id", "in", ids).
			Documents(ctx).GetAll()
		if err != nil {
			return nil, fail(fmt.Errorf("store: finding the runs of messages for client %s: %w",
				client, err))
		}
		for _, snap := range snaps {
			r, err := toRun(snap)
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
	}
	return rs, nil
}
