package enter

import (
	"errors"
	"reflect"
	"testing"
)

func TestVolumesToMount(t *testing.T) {
	keep, refused := volumesToMount([]Volume{
		{Source: "/v/sub", Destination: "/data/sub/"},
		{Source: "/v", Destination: "/data", RW: true},
		{Destination: "/dev/shm"},
		{Source: "/h", Destination: "/proc/x"},
		{Source: "/s", Destination: "/sys"},
		{Source: "/t", Destination: "/.ctr-enter/bin"},
		{Source: "/r", Destination: "/"},
		{Source: "/rel", Destination: "data"},
		{Source: "/e", Destination: "/etc/../etc/hostname"},
		{Source: "/d", Destination: "/devices"},
	})
	want := []Volume{
		{Source: "/v", Destination: "/data", RW: true},
		{Source: "/d", Destination: "/devices"},
		{Source: "/v/sub", Destination: "/data/sub"},
		{Source: "/e", Destination: "/etc/hostname"},
	}
	if !reflect.DeepEqual(keep, want) {
		t.Errorf("kept %+v\nwant %+v", keep, want)
	}
	if len(refused) != 2 {
		t.Fatalf("refused %v, want / and a relative path", refused)
	}
	for _, err := range refused {
		if !errors.Is(err, ErrVolume) {
			t.Errorf("%v is not ErrVolume", err)
		}
	}
}
