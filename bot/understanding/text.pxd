# C types for compiling text.py with Cython (pure-Python mode: this file augments that one, which stays the only
# definition of what the code does). Read by setup.py; plain Python never sees it.

import cython


@cython.locals(units=object, out="unsigned int[::1]", fold="unsigned int[::1]", at=Py_ssize_t, char=Py_UCS4)
cdef object _folded_by_table(str text)

@cython.locals(units=object, out="unsigned int[::1]", clean="unsigned int[::1]", size=Py_ssize_t, char=Py_UCS4,
               unit="unsigned int", dropped="unsigned int", irregular="unsigned int", kept=Py_ssize_t, at=Py_ssize_t, first=Py_ssize_t, last=Py_ssize_t)
cdef object _cleaned_by_table(str text)
