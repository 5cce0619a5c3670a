package procfs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// IDMap is a user namespace's uid_map or gid_map (user_namespaces(7)):
// which ids of the parent namespace (here, the reader's) its own ids stand
// for. A process outside any user namespace of its own has the identity
// map "0 0 4294967295".
type IDMap []IDRange

// IDRange is one line of an IDMap: Count ids from Inside in the namespace
// are Outside and up in the parent.
type IDRange struct {
	Inside, Outside, Count uint32
}

// ParseIDMap parses /proc/PID/uid_map or gid_map: lines of three unsigned
// 32-bit numbers. The kernel writes the map once, checked (no empty range,
// none past the end of the id space), and prints it as it was written: a
// line it would not have accepted is an error, not skipped, since the ids
// it would map could then be wrong.
func ParseIDMap(b []byte) (IDMap, error) {
	return parseLines(b, "id map", parseIDRange)
}

func parseIDRange(line string) (IDRange, error) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return IDRange{}, errors.New("want inside, outside and count")
	}
	var v [3]uint32
	for i := range f {
		n, err := strconv.ParseUint(f[i], 10, 32)
		if err != nil {
			return IDRange{}, err
		}
		v[i] = uint32(n)
	}
	r := IDRange{Inside: v[0], Outside: v[1], Count: v[2]}
	if r.Count == 0 {
		return IDRange{}, errors.New("empty range")
	}
	// The kernel refuses a range whose end wraps around in 32 bits
	// (kernel/user_namespace.c, map_write): the last id, 2^32-1, is
	// (uid_t)-1 and never mapped.
	if uint64(r.Inside)+uint64(r.Count) >= 1<<32 || uint64(r.Outside)+uint64(r.Count) >= 1<<32 {
		return IDRange{}, errors.New("range past the last id")
	}
	return r, nil
}

// Inside maps an id of the parent namespace to the one the namespace
// sees: the first range that holds it decides (the kernel lets no two
// overlap).
func (m IDMap) Inside(outside int) (int, error) {
	if outside >= 0 {
		for _, r := range m {
			if off := uint64(outside) - uint64(r.Outside); uint64(outside) >= uint64(r.Outside) && off < uint64(r.Count) {
				return int(uint64(r.Inside) + off), nil
			}
		}
	}
	return 0, fmt.Errorf("id %d is not mapped", outside)
}
