/*
 * notify.pml: the notification of lib/pa_notify.c as a Promela model,
 * step by step as the code has it: NT handler threads, the notifier
 * (pa-spawn), NC connections arriving at any moment.  Each step is one
 * access to a shared word (the code's are sequentially consistent), so
 * spin tries every interleaving the machine could produce.
 *
 *   spin -a notify.pml && cc -DSAFETY -o pan pan.c && ./pan
 *   -DNOFIX   the fix taken out: no bump between the notifier's count
 *             and its wake-up (invariant I2); spin must find the lost
 *             wake-up then.
 *   -DNT=n -DNC=n -DFMAX=n   threads, connections, futile wake-ups allowed
 *
 * tests/model.bats runs, within make check: 3 threads and 2 connections
 * with -DBITSTATE -w24 (a part of the states: about 8 million, hash
 * factor about 2, 5 s); and -DNOFIX with 2 threads, exhaustive, which
 * finds the lost wake-up (at depth 108, after about 4 million states).
 * The exhaustive check of the fix with 2 threads, by hand (22.4 million
 * states, 1.2 GB, 30 to 80 s): spin -DNT=2 -a notify.pml &&
 * cc -O2 -DSAFETY -DCOLLAPSE -DMEMLIM=3000 -o pan pan.c && ./pan -m200000
 * With 3 threads the exhaustive search needs more than 4 GB.
 *
 * The futile wake-ups: a woken thread finds the queue empty when a thread
 * awake (one whose wait no wake-up ended, or one woken earlier) took the
 * connection between the notifier's reading of the queue and its wake-up,
 * and when going deaf wakes sleepers that had gone back to sleep.  The
 * model bounds them at FMAX = 12 for 2 connections (exceeded at 8);
 * the herd test of tests/pa-spawn.bats measures them in the real pool.
 *
 * The kernel: FUTEX_WAIT(g) compares the generation and queues the thread
 * in one step; FUTEX_WAKE(k) dequeues up to k queued threads, any of
 * them, and says how many.  The generation is kept as one "stale" flag per
 * thread (set by every bump, cleared when the thread reads it): only
 * "has it moved since I read it" matters.  The bounded wait (a second)
 * is left out: a thread in FUTEX_WAIT sleeps until woken, so any
 * connection that only the bounded wait would take shows as a final
 * state with a connection queued.
 *
 * Checked: in every final state (nothing can move: every thread asleep,
 * the notifier waiting for an event) no connection is queued and no
 * thread is counted on its way (pending 0); at most FMAX woken threads
 * found the queue empty (futile wake-ups); the counts stay in range.
 */
#ifndef NT
#define NT 3
#endif
#ifndef NC
#define NC 2
#endif
#ifndef FMAX
#define FMAX 12
#endif

byte waiting, pending, queue, futile, arrived, bi;
bool hdeaf;		/* the header's deaf word */
bool pipe;		/* PA_READY_LISTEN written, not yet read */
bool watching = 1;	/* the listener in the notifier's epoll set */
bool ev;		/* an edge-triggered event not yet taken */
bool ldeaf;		/* the notifier's own deaf state */
bool stale[NT];		/* the generation moved since the thread read it */
bool ink[NT];		/* queued in the kernel in FUTEX_WAIT */
bool wk[NT];		/* dequeued by FUTEX_WAKE, not yet running */

inline bump() {
  d_step { bi = 0; do :: bi < NT -> stale[bi] = 1; bi++ :: else -> break od; bi = 0 }
}

inline futex_wake(k, r) {
  atomic {
    r = 0;
    do
    :: r < k && ink[0] -> ink[0] = 0; wk[0] = 1; r++
    :: r < k && ink[1] -> ink[1] = 0; wk[1] = 1; r++
    :: r < k && NT > 2 && ink[(NT > 2 -> 2 : 0)] -> ink[(NT > 2 -> 2 : 0)] = 0; wk[(NT > 2 -> 2 : 0)] = 1; r++
    :: r < k && NT > 3 && ink[(NT > 3 -> 3 : 0)] -> ink[(NT > 3 -> 3 : 0)] = 0; wk[(NT > 3 -> 3 : 0)] = 1; r++
    :: else -> break
    od
  }
}

/* Clients: NC connections, each at any moment; an event if watched. */
active proctype clients() {
  do
  :: atomic { arrived < NC -> queue++; arrived++; if :: watching -> ev = 1 :: else fi }
  :: atomic { arrived == NC -> break }
  od
}

/* pa_worker_next() and pa_notify_wait(), one handler thread. */
proctype thread(byte me) {
  bool r, woke, nodefer;
top:
  stale[me] = 0;			/* g = pa_notify_gen() */
  if					/* pa_notify_defer() */
  :: !woke && !nodefer ->
    if :: pending > 0 -> goto sleep :: else fi;
    if :: waiting > 0 -> goto sleep :: else fi
  :: else
  fi;
  atomic {				/* accept4 */
    nodefer = 0;
    if
    :: queue > 0 -> queue--; woke = 0; goto top	/* served: idle again */
    :: else -> if :: woke -> futile++; assert(futile <= FMAX); woke = 0 :: else fi
    fi
  }
sleep:
  waiting++;
  atomic { if :: hdeaf -> hdeaf = 0; pipe = 1 :: else fi }	/* hear_again */
  atomic { if :: !stale[me] -> ink[me] = 1; r = 1 :: else -> r = 0 fi }
  if
  :: r -> end_sleep: atomic { wk[me] -> wk[me] = 0 };
    atomic { if :: pending > 0 -> pending-- :: else fi }
  :: else
  fi;
  atomic { if :: waiting > 0 -> waiting-- :: else fi; if :: r -> woke = 1 :: else -> nodefer = 1 fi; r = 0 }
  goto top
}

inline sleepers(s) {
  atomic { s = waiting };
  atomic { if :: s > pending -> s = s - pending :: else -> s = 0 fi }
}

/* wake(): pending first, the bump (I2), FUTEX_WAKE, pending corrected. */
inline wake(k, r) {
  atomic { pending = pending + k };
#ifndef NOFIX
  bump();
#endif
  futex_wake(k, r);
  pending = pending - (k - r)
}

inline go_deaf() {
  if
  :: ldeaf -> skip
  :: else ->
    atomic { hdeaf = 1; watching = 0; ldeaf = 1 };
#ifndef NOFIX
    bump();
#endif
    sleepers(s);
    if :: s > 0 -> wake(s, r) :: else fi
  fi
}

/* pa_notify_event() */
inline notify(event) {
  bump();
  sleepers(s);
  if
  :: event && s == 0 -> go_deaf()
  :: else ->
    n = queue;
    atomic { p = pending };
    atomic { w = waiting; if :: p > w -> p = w :: else fi };
    if
    :: n > p ->
      need = n - p;
      wake(need, r);
      if :: r < need -> go_deaf() :: else fi
    :: else
    fi
  fi;
  d_step { n = 0; need = 0; r = 0; w = 0; p = 0; s = 0 }
}

/* pa-spawn's loop: listener events, the readiness pipe, listening again. */
active proctype notifier() {
  byte n, need, r, w, p, s;
  do
  :: ldeaf && !hdeaf ->
     atomic { watching = 1; if :: queue > 0 -> ev = 1 :: else fi; ldeaf = 0 };
     notify(0)
  :: else ->
end_loop:
     if
     :: atomic { ev -> ev = 0 }; notify(1)
     :: atomic { pipe -> pipe = 0 }
     fi
  od
}

init {
  atomic {
    bi = 0;
    do :: bi < NT -> run thread(bi); bi++ :: else -> break od;
    bi = 0
  }
}

/* Nothing can move any more: every connection taken, no count left. */
active proctype final() {
  timeout -> assert(queue == 0 && pending == 0 && waiting == NT)
}

active proctype ranges() {
end_ranges:
  atomic { (waiting > NT || pending > NT + NC || queue > NC) -> assert(0) }
}
