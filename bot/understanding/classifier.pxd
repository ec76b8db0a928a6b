# C types for compiling classifier.py with Cython (pure-Python mode: this file augments that one, which stays the
# only definition of what the code does). Read by setup.py; plain Python never sees it.

import cython


cdef class Classifier:
    cdef public object rules
    cdef tuple _intents
    cdef object _categories
    cdef Py_ssize_t _first_category
    cdef dict _commands
    cdef list _hashtags
    cdef public tuple hashtags
    cdef object _scorer
    cdef object _score
    cdef public Py_ssize_t keyword_count
    cdef list _kinds
    cdef Py_ssize_t _kinds_ruled

    cpdef object classify(self, object text)
    cpdef object categorize(self, object text, object kind)
    cdef object _by_command(self, str name, str rest)
    cdef object _by_trigger(self, object intent, str norm)

    @cython.locals(totals=dict, ranked=list, cues=tuple, keywords=tuple)
    cdef object _by_keywords(self, str norm)

    @cython.locals(best=dict, bucket=Py_ssize_t)
    cdef dict _best_by_kind(self, list ranking)

    @cython.locals(ranked=list, first_category=Py_ssize_t, bucket=Py_ssize_t)
    cdef list _ranked(self, object scores, object kind)
