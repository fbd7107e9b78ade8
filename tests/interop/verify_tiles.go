// verify_tiles checks a directory of C2SP tlog-tiles written by `concord audit tiles` with
// Go's sumdb note and tlog packages: the checkpoint's signature, every hash tile against the
// signed root, and every entry of the bundles by its inclusion proof.
//
//	go run verify_tiles.go <verifier key> <directory>
package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// index writes a tile index as C2SP tlog-tiles does: three-digit groups, all but the last
// marked with x.
func index(n int64) string {
	s := fmt.Sprintf("%03d", n)
	for len(s)%3 != 0 {
		s = "0" + s
	}
	var groups []string
	for i := 0; i < len(s); i += 3 {
		groups = append(groups, s[i:i+3])
	}
	for i := 0; i < len(groups)-1; i++ {
		groups[i] = "x" + groups[i]
	}
	return strings.Join(groups, "/")
}

func tilePath(t tlog.Tile) string {
	level := strconv.Itoa(t.L)
	if t.L == -1 {
		level = "entries"
	}
	p := "tile/" + level + "/" + index(t.N)
	if t.W < 1<<height {
		p += ".p/" + strconv.Itoa(t.W)
	}
	return p
}

type dirReader struct{ dir string }

func (r dirReader) Height() int { return height }

func (r dirReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := os.ReadFile(filepath.Join(r.dir, tilePath(t)))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (r dirReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func main() {
	if len(os.Args) != 3 {
		fail("usage: verify_tiles <verifier key> <directory>")
	}
	verifier, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fail("verifier key: %v", err)
	}
	dir := os.Args[2]
	signed, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("size: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		fail("root: %v", err)
	}
	var root tlog.Hash
	copy(root[:], raw)
	hashes := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, dirReader{dir})
	for start := int64(0); start < size; start += 1 << height {
		width := size - start
		if width > 1<<height {
			width = 1 << height
		}
		bundle, err := os.ReadFile(filepath.Join(dir, tilePath(tlog.Tile{H: height, L: -1, N: start >> height, W: int(width)})))
		if err != nil {
			fail("bundle at %d: %v", start, err)
		}
		for i := start; i < start+width; i++ {
			if len(bundle) < 2 {
				fail("bundle at %d ends early", start)
			}
			length := int(bundle[0])<<8 | int(bundle[1])
			if len(bundle) < 2+length {
				fail("entry %d is cut short", i)
			}
			entry := bundle[2 : 2+length]
			bundle = bundle[2+length:]
			proof, err := tlog.ProveRecord(size, i, hashes)
			if err != nil {
				fail("proof of %d: %v", i, err)
			}
			if err := tlog.CheckRecord(proof, size, root, i, tlog.RecordHash(entry)); err != nil {
				fail("entry %d: %v", i, err)
			}
		}
		if len(bundle) != 0 {
			fail("bundle at %d has %d bytes too many", start, len(bundle))
		}
	}
	fmt.Printf("ok: %d entries of %s\n", size, lines[0])
}
