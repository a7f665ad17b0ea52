// Package failure sorts errors into the two kinds the functions act on.
// A permanent error is one no retry can fix: the function records it,
// logs it at ERROR and acknowledges the message. Any other error is
// transient: the function returns it and Pub/Sub delivers again later.
package failure

import "errors"

// ErrPermanent matches every error that Permanent wrapped.
var ErrPermanent = errors.New("permanent")

// Permanent wraps err so that IsPermanent(err) holds. It returns nil for
// a nil err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

type permanent struct{ err error }

func (e permanent) Error() string   { return e.err.Error() }
func (e permanent) Unwrap() error   { return e.err }
func (e permanent) Is(t error) bool { return t == ErrPermanent }

// IsPermanent reports whether err, or an error it wraps, is permanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }
