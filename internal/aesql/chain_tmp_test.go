package aesql
import ("testing";"strings";"time")
func TestChainTmp(t *testing.T) {
	for _, q := range []string{
		"SELECT " + strings.Repeat("1+", 30000) + "1",
		"SELECT count() FROM requests WHERE " + strings.Repeat("blob1 = 'x' OR ", 4000) + "1",
		"SELECT count() FROM requests WHERE blob1 IN (" + strings.Repeat("'x', ", 10000) + "'y')",
	} {
		q = q[:min(len(q), 65000)]
		if strings.HasSuffix(q, "+") { q += "1" }
		start := time.Now()
		p, err := mustCompile(q)
		t.Log(time.Since(start), err)
		if p != nil { t.Log(len(p.SQL)) }
	}
}
