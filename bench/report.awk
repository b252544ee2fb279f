# bench/report.awk: the markdown tables of bench/run.sh.
# Input: raw.txt (one line of key=value per load or spawnloop run), then
# mem.txt (sessstat -m per server, and "proc ..." lines per process).
# Peers are every server other than pa, prefork and spawn.

function kv(line, a,    i, n, f, p) {
	n = split(line, f, " ")
	for (i = 1; i <= n; i++) {
		p = index(f[i], "=")
		if (p > 0)
			a[substr(f[i], 1, p - 1)] = substr(f[i], p + 1)
	}
}

# median of the space-separated numbers in s (min in MIN, max in MAX)
function med(s,    v, n, i, j, t) {
	n = split(s, v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	MIN = v[1]; MAX = v[n]
	if (n % 2)
		return v[(n + 1) / 2]
	return (v[n / 2] + v[n / 2 + 1]) / 2
}

function add(arr, k, x) { arr[k] = (k in arr) ? arr[k] " " x : x }

function ms(us) { return sprintf("%.2f", us / 1000) }

function ispeer(s) { return s != "pa" && s != "pa-alt" && s != "prefork" && s != "spawn" && s != "vspawn" }

FNR == NR {
	delete a
	kv($0, a)
	p = a["prog"]; s = a["server"]; c = a["c"]
	if (!(p in seenp)) { seenp[p] = 1; progs[++np] = p }
	if (!(s in seens)) { seens[s] = 1; servers[++ns] = s }
	if (!(c in seenc)) { seenc[c] = 1; concs[++nc] = c }
	k = p SUBSEP s SUBSEP c
	have[k] = 1
	add(rate, k, a["rate"])
	if (s == "spawn" || s == "vspawn") {
		add(cpu1, k, a["cpu_us_per_spawn"])
		err[k] += a["failed"]
		next
	}
	add(p50, k, a["p50_us"])
	add(p99, k, a["p99_us"])
	add(p999, k, a["p999_us"])
	over1s[k] += a["over1s"]
	conns[k] += a["conns"]
	scpu[k] += a["srv_cpu_ms"]
	lcpu[k] += a["cpu_ms"]
	errs[k] += a["refused"] + a["reset"] + a["timeout"] + a["empty"] + a["other"]
	ref[k] += a["refused"]; rst[k] += a["reset"]; tmo[k] += a["timeout"]
	emp[k] += a["empty"]; oth[k] += a["other"]
	next
}

$1 == "proc" {
	# proc prog=P server=S pid comm cpu_ms ctxsw pss priv
	delete a
	kv($0, a)
	k = a["prog"] SUBSEP a["server"]
	if ($5 == "pa-handler") { hn[k]++; hpriv[k] += $9 }
	next
}

{
	delete a
	kv($0, a)
	k = a["prog"] SUBSEP a["server"]
	mproc[k] = a["procs"]; mpss[k] = a["pss_kib"]; mpriv[k] = a["priv_kib"]
	mhave[k] = 1
}

END {
	for (i = 1; i <= np; i++) {
		p = progs[i]
		printf "### %s\n\n", p
		for (l = 1; l <= nc; l++) {
			k = p SUBSEP "spawn" SUBSEP concs[l]
			if (k in have)
				SC[p, concs[l]] = med(cpu1[k])
		}
		print "| server | conc | conn/s median | min-max | p50 ms | p99 ms | p99.9 ms | conns of 1 s or more | server CPU ms per 1000 conn | beyond spawn, ms per 1000 | load's CPU ms per 1000 | errors |"
		print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
		for (j = 1; j <= ns; j++) {
			s = servers[j]
			for (l = 1; l <= nc; l++) {
				c = concs[l]
				k = p SUBSEP s SUBSEP c
				if (!(k in have))
					continue
				r = med(rate[k])
				R[k] = r
				mm = sprintf("%.0f-%.0f", MIN, MAX)
				if (s == "spawn" || s == "vspawn") {
					printf "| spawn limit, %s (spawnloop%s -j %s) | %s | %.0f | %s | | | | | %d | | | %s |\n", \
					    (s == "spawn" ? "posix_spawn" : "vfork+execve"), \
					    (s == "spawn" ? "" : " -v"), c, c, r, mm, med(cpu1[k]), \
					    (err[k] ? err[k] " failed" : "0")
					continue
				}
				cu = conns[k] ? scpu[k] * 1000 / conns[k] : 0
				CU[k] = cu
				e = errs[k] ? sprintf("%d (refused %d, reset %d, timeout %d, empty %d, other %d)", \
				    errs[k], ref[k], rst[k], tmo[k], emp[k], oth[k]) : "0"
				printf "| %s | %s | %.0f | %s | %s | %s | %s | %d | %.0f | %s | %.0f | %s |\n", \
				    s, c, r, mm, ms(med(p50[k])), ms(med(p99[k])), \
				    ms(med(p999[k])), over1s[k], cu, \
				    ((p, c) in SC) ? sprintf("%.0f", cu - SC[p, c]) : "", \
				    conns[k] ? lcpu[k] * 1000 / conns[k] : 0, e
			}
		}
		print ""
		# The raw limit: the best posix_spawn rate at any concurrency.
		bs = 0
		for (l = 1; l <= nc; l++) {
			k = p SUBSEP "spawn" SUBSEP concs[l]
			if ((k in have) && R[k] > bs) bs = R[k]
		}
		print "| conc | pa conn/s | fastest peer | pa / fastest peer | pa / prefork | pa / spawn limit (same conc) | pa / best spawn limit | pa p99 ms | lowest peer p99 ms | pa p99.9 ms | lowest peer p99.9 ms |"
		print "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (l = 1; l <= nc; l++) {
			c = concs[l]
			ka = p SUBSEP "pa" SUBSEP c
			best = 0; bname = "-"; bp99 = -1; bp999 = -1
			for (j = 1; j <= ns; j++) {
				s = servers[j]
				k = p SUBSEP s SUBSEP c
				if (!ispeer(s) || !(k in have))
					continue
				if (R[k] > best) { best = R[k]; bname = s }
				q = med(p99[k])
				if (bp99 < 0 || q < bp99) bp99 = q
				q = med(p999[k])
				if (bp999 < 0 || q < bp999) bp999 = q
			}
			kp = p SUBSEP "prefork" SUBSEP c
			ks = p SUBSEP "spawn" SUBSEP c
			if (!(ka in have)) {
				printf "| %s | (pa not run) | %s %.0f | | | | | | %s | | %s |\n", c, bname, best, \
				    (bp99 >= 0 ? ms(bp99) : ""), (bp999 >= 0 ? ms(bp999) : "")
				continue
			}
			printf "| %s | %.0f | %s %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", c, R[ka], bname, best, \
			    best ? sprintf("%.2f", R[ka] / best) : "", \
			    (kp in have) && R[kp] ? sprintf("%.2f", R[ka] / R[kp]) : "", \
			    (ks in have) && R[ks] ? sprintf("%.2f", R[ka] / R[ks]) : "", \
			    bs ? sprintf("%.2f", R[ka] / bs) : "", \
			    ms(med(p99[ka])), (bp99 >= 0 ? ms(bp99) : ""), \
			    ms(med(p999[ka])), (bp999 >= 0 ? ms(bp999) : "")
		}
		print ""
		# pa's conn/s over each other server's, at each concurrency.
		if ((p SUBSEP "pa" SUBSEP concs[1]) in have) {
			hdr = "| conc"; sep = "|---:"
			for (j = 1; j <= ns; j++) {
				s = servers[j]
				if (s == "pa") continue
				hdr = hdr " | pa / " (s == "spawn" ? "spawn limit" : \
				    s == "vspawn" ? "vfork limit" : s)
				sep = sep "|---:"
			}
			print hdr " |"
			print sep "|"
			for (l = 1; l <= nc; l++) {
				c = concs[l]
				ka = p SUBSEP "pa" SUBSEP c
				line = "| " c
				for (j = 1; j <= ns; j++) {
					s = servers[j]
					if (s == "pa") continue
					k = p SUBSEP s SUBSEP c
					line = line " | " (((k in have) && (ka in have) && R[k] > 0) ? \
					    sprintf("%.2f", R[ka] / R[k]) : "")
				}
				print line " |"
			}
			print ""
		}
		print "| server | processes | PSS KiB | private KiB | private KiB per waiting pa-handler |"
		print "|---|---:|---:|---:|---:|"
		for (j = 1; j <= ns; j++) {
			s = servers[j]
			k = p SUBSEP s
			if (!(k in mhave))
				continue
			printf "| %s | %d | %d | %d | %s |\n", s, mproc[k], mpss[k], mpriv[k], \
			    hn[k] ? sprintf("%.0f", hpriv[k] / hn[k]) : ""
		}
		print ""
	}
}
