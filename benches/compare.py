"""The side-by-side loop of the comparison scripts (sklearn_compare.py, hmmlearn_compare.py):
per workload, `gmm fit` from the CLI and a Python peer script, three runs each, their medians,
the ratio peer/gmm, and whether both reached the same log-likelihood (1e-6 relative).
Last line printed: 'ratio R (min over workloads; want >= MIN)'; the exit status is 1 below it."""
import os, re, statistics, subprocess, sys, time

WORK = '/tmp/gmm-perf'
os.makedirs(WORK, exist_ok=True)


def timed(cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - t, p


def side_by_side(peer, peer_src, workloads, iters, reg):
    """`workloads`: (n, d, k, csv, model path). `peer_src` runs with the arguments csv, d, k,
    iters and prints 'LL <loglik> fit_s <seconds> total_s <seconds>'. Returns the ratios
    (0 where the log-likelihoods differ); exits with 1 if a run fails."""
    gmm = os.path.abspath(sys.argv[1])
    ratios = []
    for (n, d, k, csv, mpath) in workloads:
        g_times, p_times, p_fit, g_ll, p_ll = [], [], [], None, None
        for _ in range(3):
            dt, p = timed([gmm, 'fit', mpath, '--data', csv, '--init', 'given', '--max-iter', str(iters),
                           '--tol', '0', '--reg', reg])
            if p.returncode != 0:
                print(f'gmm fit failed ({p.returncode}): {p.stderr.strip()[-300:]}')
                print('ratio 0 (gmm fit failed)')
                sys.exit(1)
            g_times.append(dt)
            m = re.findall(r'#\s*loglik\s*=\s*(-?[0-9.eE+-]+)', p.stdout)
            g_ll = float(m[-1]) if m else None
            dt, p = timed([sys.executable, '-c', peer_src, csv, str(d), str(k), str(iters)])
            if p.returncode != 0:
                print(f'{peer} failed: {p.stderr.strip()[-300:]}')
                sys.exit(1)
            p_times.append(dt)
            f = p.stdout.split()
            p_ll = float(f[1])
            p_fit.append(float(f[3]))
        gm, pm = statistics.median(g_times), statistics.median(p_times)
        r = pm / gm
        # gmm reports the log-likelihood of its fitted values, as the peers' score does.
        same = g_ll is not None and abs(g_ll - p_ll) <= 1e-6 * abs(p_ll)
        print(f'n={n} d={d} k={k} iters={iters}: gmm {gm:.3f}s  {peer} {pm:.3f}s (fit alone {statistics.median(p_fit):.3f}s)'
              f'  ratio {r:.1f}x  loglik gmm {g_ll} {peer} {p_ll:.6f} {"same" if same else "DIFFERENT"}')
        ratios.append(r if same else 0.0)
    return ratios


def verdict(ratios):
    """Prints the last line, 'ratio R (min over workloads; want >= MIN)', MIN the script's
    second argument (0 without), and exits with 1 when R is below it."""
    min_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    worst = min(ratios)
    print(f'ratio {worst:.1f} (min over workloads; want >= {min_ratio})')
    sys.exit(0 if worst >= min_ratio else 1)
