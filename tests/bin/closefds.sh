#!/bin/bash
# closefds.sh PROG [ARGS...]: run PROG with only descriptors 0, 1 and 2,
# so that a test sees exactly what the programs under test add.
for f in "/proc/$$/fd"/*; do
	n=${f##*/}
	if [ "$n" -gt 2 ] && [ "$n" != 255 ]; then
		eval "exec $n>&-"
	fi
done
exec "$@"
