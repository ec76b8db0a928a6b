# C types for compiling matching.py with Cython (pure-Python mode: this file augments that one, which stays the
# only definition of what the code does). Read by setup.py; plain Python never sees it.

import cython


cdef class Term:
    cdef public str word
    cdef public Py_ssize_t size
    cdef public list owners
    cdef public frozenset buckets
    cdef public tuple contributions
    cdef public tuple head_contributions
    cdef public frozenset families
    cdef public tuple syllables
    cdef public frozenset key_chars
    cdef public tuple supers
    cdef public tuple shorter
    cdef public frozenset super_set
    cdef public dict held
    cdef public Py_ssize_t claimed
    cdef public unsigned short[::1] unread


cdef class Piece:
    cdef public Term term
    cdef public Py_ssize_t end
    cdef public str keys
    cdef public str others
    cdef public Py_ssize_t spare


cdef class Automaton:
    cdef public object values
    cdef CharAutomaton _chars
    cdef object _search

    cpdef list found(self, str text)


cdef class CharAutomaton:
    cdef unsigned short[::1] _symbols
    cdef long long _low
    cdef dict _astral
    cdef long long _stride
    cdef long long _mask
    cdef long long[::1] _slots
    cdef int[::1] _root
    cdef int[::1] _states

    @cython.locals(found=list, symbols="unsigned short[::1]", low="long long", high="long long", astral=dict,
                   stride="long long", mask="long long",
                   slots="long long[::1]", root="int[::1]", states="int[::1]", state=Py_ssize_t, end=Py_ssize_t,
                   char=Py_UCS4, symbol="long long", wanted="long long", at="long long", match=Py_ssize_t)
    cpdef list found(self, str text)


cpdef Automaton automaton(dict entries)


cdef class Scores:
    cdef public dict totals
    cdef public list ranking
    cdef public tuple buckets
    cdef public tuple written


cdef class KeywordIndex:
    cdef dict _by_word
    cdef dict _codes
    cdef object _units
    cdef dict _syllable_codes
    cdef list _terms_of
    cdef list _pieces_of
    cdef list _vetoes_of
    cdef Automaton _words
    cdef bint _fuzzy
    cdef Automaton _sounds

    @cython.locals(out="unsigned short[::1]", table="unsigned short[::1]", unread=Py_ssize_t, at=Py_ssize_t,
                   char=Py_UCS4, unit=Py_ssize_t)
    cpdef object read(self, str norm)

    cdef str _learn(self, str char)

    @cython.locals(key=Py_ssize_t, end=Py_ssize_t, term=Term, terms=list, found=list, masked="unsigned short[::1]",
                   vetoes=list, at=Py_ssize_t)
    cpdef tuple find(self, str norm)

    @cython.locals(length=Py_ssize_t, key=Py_ssize_t, stop=Py_ssize_t, term=Term, piece=Piece,
                   size=Py_ssize_t, start=Py_ssize_t, left=Py_ssize_t,
                   around=str, char=Py_UCS4, tried=set, entries_of=list, window=str)
    cdef _find_fuzzy(self, str norm, list found, dict exact, dict inexact)

    @cython.locals(key=Py_ssize_t, stop=Py_ssize_t, term=Term, start=Py_ssize_t, word=str, same=Py_ssize_t,
                   at=Py_ssize_t, window=str, by_word=dict, terms_of=list)
    cdef _find_sounds(self, str norm, str codes, dict exact, dict inexact)


cdef class Scorer:
    cdef tuple _intents
    cdef tuple _tie_order
    cdef Py_ssize_t _first_category
    cdef tuple _courtesy
    cdef Automaton _any_courtesy
    cdef public Py_ssize_t keyword_count
    cdef Py_ssize_t _longest
    cdef KeywordIndex _index
    cdef tuple _saturated

    @cython.locals(contributions=list, values=tuple, buckets=tuple, written=tuple, first_category=Py_ssize_t,
                   intents=tuple, saturated=tuple, ranking=list, at=Py_ssize_t, bucket=Py_ssize_t, end=Py_ssize_t,
                   runs_end=Py_ssize_t, total=double, n=Py_ssize_t,
                   totals=dict, exact=dict, inexact=dict, vetoed=set)
    cpdef Scores score(self, str norm)

    @cython.locals(head=Py_ssize_t, inside=bytearray, contributions=list, term=Term,
                   last=Py_ssize_t, start=Py_ssize_t, end=Py_ssize_t, strength=double, scale=double, held=tuple,
                   supers=object, others=list, by_start=dict, other=Term)
    cdef list _contributions(self, str norm, dict exact, dict inexact)

    cdef str _without_courtesy(self, str norm)


@cython.locals(end=object)
cpdef Py_ssize_t head_length(str norm)

cpdef bint held_exactly(Term term, dict exact)

@cython.locals(char=Py_UCS4)
cpdef bint lacks_too_many(str others, Py_ssize_t spare, str around)

@cython.locals(other_start=Py_ssize_t, other=Term, other_end=Py_ssize_t, size=Py_ssize_t, held=list)
cpdef list holders(Term term, Py_ssize_t start, Py_ssize_t end, dict by_start, Py_ssize_t longest)

@cython.locals(found=list, bucket=Py_ssize_t, weight=double, written=str, factor=double)
cpdef tuple contained(Term term, double scale, list holding, Py_ssize_t first_category)

@cython.locals(factor=double, other=Term)
cpdef double containment(Py_ssize_t bucket, bint is_intent, list holding)

@cython.locals(near=bytearray, start=Py_ssize_t, end=Py_ssize_t, last=Py_ssize_t, term=Term, by_start=dict)
cpdef dict spans_by_start(dict exact, dict inexact, Py_ssize_t longest, Py_ssize_t length)

@cython.locals(shown=object)
cpdef object rounded(object value)
