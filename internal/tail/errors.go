package tail

import (
	"errors"
	"fmt"
)

// ErrTooManyClients says a project already has Options.MaxClients tails
// open; the server answers 429.
var ErrTooManyClients = errors.New("too many live tails are open for this project")

// ParamError is a bad query parameter of a tail: the server answers 400
// naming Param.
type ParamError struct {
	Param string // the query parameter, e.g. "field"
	Msg   string
}

func (e *ParamError) Error() string { return fmt.Sprintf("parameter %s: %s", e.Param, e.Msg) }

func paramErr(param, format string, args ...any) error {
	return &ParamError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

func fmtErr(format string, args ...any) error { return fmt.Errorf(format, args...) }
