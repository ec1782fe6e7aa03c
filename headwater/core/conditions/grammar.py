"""The grammar of the condition language (lark, LALR); docs/conditions.md explains it."""

__all__ = ["GRAMMAR"]

GRAMMAR = r"""
// The Headwater condition language (docs/conditions.md). Keywords are case-insensitive.

?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr       -> negation
         | "(" or_expr ")"
         | test

test: PATH COMPARE value                   -> compare
    | PATH _IN list                        -> within
    | PATH _NOT _IN list                   -> not_within
    | scalar _IN PATH                      -> member
    | PATH _EXISTS                         -> exists
    | PATH _CONTAINS STRING                -> contains
    | PATH _STARTS _WITH STRING            -> starts_with

list: "[" [scalar ("," scalar)*] "]"

?value: scalar
      | moment
moment: _NOW offset*                       -> now
      | _DATE "(" STRING ")" offset*       -> date
offset: SIGN DURATION

scalar: STRING                             -> string
      | NUMBER                             -> number
      | _TRUE                              -> true
      | _FALSE                             -> false
      | _NULL                              -> null

PATH.2: /(event|profile|session|payload|memory)(\.[A-Za-z0-9_$@][A-Za-z0-9_\-$@]*)+/
COMPARE: "<=" | ">=" | "!=" | "=" | "<" | ">"
SIGN: "+" | "-"
DURATION.3: /\d+(ms|s|m|h|d|w)\b/
NUMBER: /-?\d+(\.\d+)?([eE][+-]?\d+)?/
STRING: /"(\\.|[^"\\\n])*"/ | /'(\\.|[^'\\\n])*'/

_OR.2: /or\b/i
_AND.2: /and\b/i
_NOT.2: /not\b/i
_IN.2: /in\b/i
_EXISTS.2: /exists\b/i
_CONTAINS.2: /contains\b/i
_STARTS.2: /starts\b/i
_WITH.2: /with\b/i
_NOW.2: /now\b/i
_DATE.2: /date\b/i
_TRUE.2: /true\b/i
_FALSE.2: /false\b/i
_NULL.2: /null\b/i

%import common.WS
%ignore WS
%ignore /#[^\n]*/
"""
