// verify_proof checks a Concord proof file with Go's sumdb note and tlog packages, which
// Concord does not share a line of code with: an outside auditor's view of the log.
//
//	go run verify_proof.go <verifier key> <proof.json>
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type proofFile struct {
	Kind       string   `json:"kind"`
	Checkpoint string   `json:"checkpoint"`
	Index      int64    `json:"index"`
	Entry      string   `json:"entry"`
	Old        string   `json:"old"`
	New        string   `json:"new"`
	Proof      []string `json:"proof"`
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func open(signed string, verifiers note.Verifiers) checkpoint {
	n, err := note.Open([]byte(signed), verifiers)
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		fail("checkpoint: too few lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("checkpoint root: %v", err)
	}
	var h tlog.Hash
	copy(h[:], root)
	return checkpoint{lines[0], size, h}
}

func hashes(values []string) []tlog.Hash {
	out := make([]tlog.Hash, len(values))
	for i, v := range values {
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(raw) != tlog.HashSize {
			fail("proof hash %d: %v", i, err)
		}
		copy(out[i][:], raw)
	}
	return out
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		fail("usage: verify_proof <verifier key> <proof.json>")
	}
	verifier, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fail("verifier key: %v", err)
	}
	verifiers := note.VerifierList(verifier)
	raw, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail("%v", err)
	}
	var proof proofFile
	if err := json.Unmarshal(raw, &proof); err != nil {
		fail("proof file: %v", err)
	}
	switch proof.Kind {
	case "inclusion":
		cp := open(proof.Checkpoint, verifiers)
		entry, err := base64.StdEncoding.DecodeString(proof.Entry)
		if err != nil {
			fail("entry: %v", err)
		}
		if err := tlog.CheckRecord(hashes(proof.Proof), cp.size, cp.root, proof.Index, tlog.RecordHash(entry)); err != nil {
			fail("inclusion: %v", err)
		}
		fmt.Printf("ok: leaf %d in %s tree of %d\n", proof.Index, cp.origin, cp.size)
	case "consistency":
		old, new := open(proof.Old, verifiers), open(proof.New, verifiers)
		if err := tlog.CheckTree(hashes(proof.Proof), new.size, new.root, old.size, old.root); err != nil {
			fail("consistency: %v", err)
		}
		fmt.Printf("ok: tree of %d extends tree of %d\n", new.size, old.size)
	default:
		fail("unknown proof kind %q", proof.Kind)
	}
}
