package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ctr-enter/ctr-enter/images"
)

func TestImagesGrammar(t *testing.T) {
	checkGrammar(t, []grammarCase{
		{[]string{"images", "pull", "busybox"}, "images pull <ref>", imagesPullCmd{Ref: "busybox"}},
		{[]string{"images", "pull", "--from", "registry", "127.0.0.1:5000/busybox"}, "images pull <ref>", imagesPullCmd{Ref: "127.0.0.1:5000/busybox", From: "registry"}},
		{[]string{"images", "pull", "busybox", "--from=containerd"}, "images pull <ref>", imagesPullCmd{Ref: "busybox", From: "containerd"}},
		{[]string{"images", "pull", "busybox", "--from", "docker"}, "images pull <ref>", imagesPullCmd{Ref: "busybox", From: "docker"}},
		{[]string{"images", "ls"}, "images ls", imagesLsCmd{}},
		{[]string{"images", "ls", "--json"}, "images ls", imagesLsCmd{JSON: true}},
		{[]string{"images", "rm", "busybox"}, "images rm <refs>", imagesRmCmd{Refs: []string{"busybox"}}},
		{[]string{"images", "rm", "busybox", "tools:1"}, "images rm <refs>", imagesRmCmd{Refs: []string{"busybox", "tools:1"}}},
		{[]string{"images", "import", "tools.tar", "--name", "tools:1"}, "images import <file>", imagesImportCmd{File: "tools.tar", Name: "tools:1"}},
		{[]string{"images", "import", "-"}, "images import <file>", imagesImportCmd{File: "-"}},
		{[]string{"images", "prune"}, "images prune", imagesPruneCmd{}},
	})
	checkErrors(t, []errorCase{
		{[]string{"images"}, `expected one of "pull", "ls", "rm", "import", "prune"`},
		{[]string{"images", "bogus"}, `unexpected argument bogus`},
		{[]string{"images", "pull"}, `expected "<ref>"`},
		{[]string{"images", "pull", "busybox", "--from", "bogus"}, `--from must be one of "","containerd","docker","registry" but got "bogus"`},
		{[]string{"images", "ls", "x"}, "unexpected argument x"},
		{[]string{"images", "rm"}, `expected "<refs> ..."`},
		{[]string{"images", "import"}, `expected "<file>"`},
		{[]string{"images", "import", "a.tar", "b.tar"}, "unexpected argument b.tar"},
		{[]string{"images", "prune", "x"}, "unexpected argument x"},
	})
}

func TestImagesHelp(t *testing.T) {
	out := help(t, "images", "--help")
	if !strings.HasPrefix(out, "Usage: ctr-enter images <command> [flags]\n") {
		t.Errorf("images --help:\n%s", out)
	}
	hasExamples(t, out, imagesCmd{}.Help())
	if !strings.Contains(out, "$CTR_ENTER_IMAGES (default "+images.DefaultRoot+")") {
		t.Errorf("images --help lacks the cache's default root:\n%s", out)
	}
	for args, usage := range map[string]string{
		"pull":   "Usage: ctr-enter images pull <ref> [flags]\n",
		"ls":     "Usage: ctr-enter images ls [flags]\n",
		"rm":     "Usage: ctr-enter images rm <refs> ...\n",
		"import": "Usage: ctr-enter images import <file> [flags]\n",
		"prune":  "Usage: ctr-enter images prune\n",
	} {
		if got := help(t, "images", args, "--help"); !strings.HasPrefix(got, usage) {
			t.Errorf("images %s --help:\n%s", args, got)
		}
	}
}

func TestImagesLsOutput(t *testing.T) {
	created := time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)
	imgs := []*images.Image{
		{Ref: "docker.io/library/busybox:latest", Digest: "sha256:" + strings.Repeat("ab", 32), Size: 2 << 20, RootFS: "/x/busybox",
			Source: images.SourceRegistry, Created: created},
		{Ref: "tools:1\x1b", Digest: "sha256:abc", Size: 512, Source: images.SourceImport},
	}
	when := created.Local().Format(time.DateTime)
	want := "" +
		"REF                               DIGEST        SIZE     SOURCE    CREATED\n" +
		"docker.io/library/busybox:latest  abababababab  2.0 MiB  registry  " + when + "\n" +
		"tools:1?                          sha256:abc    512 B    import    -\n"
	printsList(t, "images ls", false, imgs, imageHeader, imageCells, want)
	want = `[
  {
    "ref": "tools:1\u001b",
    "digest": "sha256:abc",
    "size": 512,
    "rootfs": "",
    "source": "import",
    "created": "0001-01-01T00:00:00Z",
    "pulled": "0001-01-01T00:00:00Z"
  }
]
`
	printsList(t, "images ls --json", true, imgs[1:], imageHeader, imageCells, want)
}
