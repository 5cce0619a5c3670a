package plugin

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Exit statuses, ctr-enter's: the command's own status otherwise.
const (
	ExitTool = 125 // the plugin, the API server, the debugger pod or ctr-enter failed
)

// ExitError carries the remote command's exit status.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ErrForbidden classes the API's refusals: errors.Is(err, ErrForbidden).
var ErrForbidden = errors.New("forbidden")

// apiError names what the plugin asked the API server for (verb on
// resource, in namespace ns, of name) when it was refused: a forbidden
// call says which permission is missing, as the role must grant it.
func apiError(verb, resource, ns, name string, err error) error {
	what := resource
	if name != "" {
		what += fmt.Sprintf(" %q", name)
	}
	where := ""
	if ns != "" {
		where = " in namespace " + ns
	}
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s not found%s", what, where)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w: cannot %s %s%s: %s", ErrForbidden, verb, resource, where, apiMessage(err))
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("unauthorized to %s %s%s (check the kubeconfig's credentials): %s", verb, resource, where, apiMessage(err))
	}
	return fmt.Errorf("%s %s%s: %w", verb, what, where, err)
}

// apiMessage is the API server's own message (which names the user), not
// client-go's rewording of it.
func apiMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) && s.Status().Message != "" {
		return s.Status().Message
	}
	return err.Error()
}
