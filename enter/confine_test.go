package enter

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func TestEncodeConfinement(t *testing.T) {
	c := &confinement{uid: 7, gid: 8, groups: []int{9}, noNewPrivs: true, caps: [5]uint64{1, 2, 3, 4, 5},
		filters: [][]unix.SockFilter{{{Code: 6, K: 0x7fff0000}}}}
	var want bytes.Buffer
	for _, v := range []any{[]int32{7, 8, 1, 1, 1, 0}, []uint64{1, 2, 3, 4, 5}, int32(9), int32(1), []unix.SockFilter{{Code: 6, K: 0x7fff0000}}} {
		binary.Write(&want, binary.NativeEndian, v)
	}
	if got := c.encode(); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("encode = %x\nwant %x", got, want.Bytes())
	}
}
