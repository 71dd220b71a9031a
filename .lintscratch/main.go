package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/claimdrift/claimdrift/analyzer/lint"
)

func main() {
	res, err := lint.Lint(os.DirFS(os.Args[1]), lint.Options{PathPrefix: os.Args[1], ClaimRefs: os.Args[2:]})
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	b, _ := json.MarshalIndent(res.Findings, "", "  ")
	fmt.Println(string(b))
}
