"""The rules language: small, safe expressions over named facts, e.g.

    has_independent_site and cbec_export_amount > 2000万
    registered_district in ['市南区', '崂山区'] and not is_dishonest_debtor
    min(independent_site_investment * 50%, 10万)

Parsed by a Lark grammar into a tree of the dataclasses below (never ``eval``), type-checked
against the declared facts, then evaluated in Python (``rules.evaluate``) or compiled to SQL
(``rules.sql``). Numbers may carry the Chinese units 万 (10^4) and 亿 (10^8), or %, as policy texts write
them; numbers are exact (``Decimal``), never floats.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from pubdata.errors import Invalid

Type = Literal["number", "boolean", "string"]
MAX_LENGTH = 2000
FUNCTIONS = {"min": 2, "max": 2}

_GRAMMAR = r"""
?start: or_
?or_: and_ ("or" and_)*          -> any_of
?and_: not_ ("and" not_)*        -> all_of
?not_: "not" not_                -> negation
     | comparison
?comparison: sum
     | sum COMPARE sum           -> compare
     | sum "in" list_            -> member
     | sum "not" "in" list_      -> not_member
?sum: product (ADD_OP product)*  -> arithmetic
?product: unary (MUL_OP unary)*  -> arithmetic
?unary: "-" unary                -> neg
     | atom
?atom: NUMBER                    -> number
     | STRING                    -> string
     | "true"                    -> true
     | "false"                   -> false
     | NAME "(" [or_ ("," or_)*] ")" -> call
     | NAME                      -> fact
     | "(" or_ ")"
list_: "[" [atom ("," atom)*] "]"
COMPARE: ">=" | "<=" | "==" | "!=" | ">" | "<"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/"
NUMBER: /\d[\d_]*(\.\d+)?(万|亿|%)?/
STRING: /'[^'\n]*'/
NAME: /(?!(and|or|not|in|true|false)\b)[A-Za-z_][A-Za-z0-9_]*/
%ignore /[ \t\r\n]+/
"""
_PARSER = Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


class InvalidExpression(Invalid):
    code = "rules.invalid_expression"


# --- the tree ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    column: int  # 1-based position in the expression's text, for error messages

    def children(self) -> tuple[Node, ...]:
        return ()

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children():
            yield from child.walk()


@dataclass(frozen=True)
class Const(Node):
    value: Decimal | str | bool


@dataclass(frozen=True)
class Fact(Node):
    name: str


@dataclass(frozen=True)
class Neg(Node):
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * /
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Compare(Node):
    op: str  # > >= < <= == !=
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Member(Node):
    item: Node
    options: tuple[Const, ...]
    negated: bool

    def children(self) -> tuple[Node, ...]:
        return (self.item, *self.options)


@dataclass(frozen=True)
class Not(Node):
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # and | or
    operands: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


def number(text: str) -> Decimal:
    """A number as written in a rule: ``2000万`` is 20,000,000; ``50%`` is 0.5; ``1_000`` is 1000."""
    text = text.replace("_", "")
    scale = {"万": Decimal(10_000), "亿": Decimal(100_000_000), "%": Decimal("0.01")}.get(text[-1:], Decimal(1))
    value = Decimal(text.rstrip("万亿%")) * scale
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def _col(meta_or_token: Any) -> int:
    return int(getattr(meta_or_token, "column", 0) or 0)


@v_args(meta=True)
class _Build(Transformer[Token, Node]):
    def number(self, meta: Any, items: list[Token]) -> Node:
        return Const(_col(meta), number(str(items[0])))

    def string(self, meta: Any, items: list[Token]) -> Node:
        return Const(_col(meta), str(items[0])[1:-1])

    def true(self, meta: Any, _items: list[Token]) -> Node:
        return Const(_col(meta), True)

    def false(self, meta: Any, _items: list[Token]) -> Node:
        return Const(_col(meta), False)

    def fact(self, meta: Any, items: list[Token]) -> Node:
        return Fact(_col(meta), str(items[0]))

    def call(self, meta: Any, items: list[Any]) -> Node:
        name = str(items[0])
        args = tuple(a for a in items[1:] if a is not None)
        if name not in FUNCTIONS:
            raise InvalidExpression(f"未知的函数：{name}（可用：{'、'.join(FUNCTIONS)}），位于第 {_col(meta)} 列")
        if len(args) != FUNCTIONS[name]:
            raise InvalidExpression(f"函数 {name} 需要 {FUNCTIONS[name]} 个参数，位于第 {_col(meta)} 列")
        return Call(_col(meta), name, args)

    def neg(self, meta: Any, items: list[Node]) -> Node:
        return Neg(_col(meta), items[0])

    def arithmetic(self, meta: Any, items: list[Any]) -> Node:
        node = items[0]
        for op, right in zip(items[1::2], items[2::2], strict=True):
            node = Arith(node.column, str(op), node, right)
        return node  # type: ignore[no-any-return]

    def compare(self, meta: Any, items: list[Any]) -> Node:
        return Compare(_col(meta), str(items[1]), items[0], items[2])

    def member(self, meta: Any, items: list[Any]) -> Node:
        return Member(_col(meta), items[0], items[1], negated=False)

    def not_member(self, meta: Any, items: list[Any]) -> Node:
        return Member(_col(meta), items[0], items[1], negated=True)

    def list_(self, meta: Any, items: list[Any]) -> tuple[Const, ...]:
        options = tuple(i for i in items if i is not None)
        for o in options:
            if not isinstance(o, Const):
                raise InvalidExpression(f"in 后的列表只能包含常量，位于第 {o.column} 列")
        return options  # type: ignore[return-value]

    def negation(self, meta: Any, items: list[Node]) -> Node:
        return Not(_col(meta), items[0])

    def all_of(self, meta: Any, items: list[Node]) -> Node:
        return items[0] if len(items) == 1 else BoolOp(_col(meta), "and", tuple(items))

    def any_of(self, meta: Any, items: list[Node]) -> Node:
        return items[0] if len(items) == 1 else BoolOp(_col(meta), "or", tuple(items))


def parse(text: str) -> Node:
    """The expression's tree; a syntax error names the position and what was expected."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidExpression("表达式为空")
    if len(text) > MAX_LENGTH:
        raise InvalidExpression(f"表达式过长：最多 {MAX_LENGTH} 个字符")
    try:
        tree = _PARSER.parse(text)
    except UnexpectedEOF:
        raise InvalidExpression(f"表达式不完整：{text}") from None
    except UnexpectedCharacters as exc:
        char = text[exc.pos_in_stream] if exc.pos_in_stream is not None else "?"
        raise InvalidExpression(f"无法识别的字符 “{char}”，位于第 {exc.column} 列：{text}") from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise InvalidExpression(f"表达式不完整：{text}") from None
        raise InvalidExpression(f"语法错误：第 {exc.column} 列的 “{exc.token}” 不应出现在此处：{text}") from None
    except UnexpectedInput as exc:  # pragma: no cover - the two above cover LALR's errors
        raise InvalidExpression(f"语法错误，位于第 {exc.column} 列：{text}") from None
    try:
        node = _Build().transform(tree)
    except Exception as exc:  # Lark wraps errors raised in callbacks
        inner = getattr(exc, "orig_exc", exc)
        if isinstance(inner, InvalidExpression):
            raise inner from None
        raise
    return node


def facts_used(node: Node) -> list[str]:
    """The facts the expression reads, in order of first use."""
    return list(dict.fromkeys(n.name for n in node.walk() if isinstance(n, Fact)))


# --- types ---------------------------------------------------------------------------------------------


def _type_name(t: Type) -> str:
    return {"number": "数值", "boolean": "是/否", "string": "文本"}[t]


def type_of(node: Node, facts: Mapping[str, Type]) -> Type:
    """The expression's type, checking every operator's operands; an unknown fact or a mismatch is
    an error naming it."""
    if isinstance(node, Const):
        if isinstance(node.value, bool):
            return "boolean"
        return "string" if isinstance(node.value, str) else "number"
    if isinstance(node, Fact):
        if node.name not in facts:
            known = "、".join(sorted(facts)) or "（无）"
            raise InvalidExpression(f"未知的事实：{node.name}（已声明：{known}）")
        return facts[node.name]
    if isinstance(node, Neg | Arith | Call):
        for child in node.children():
            if type_of(child, facts) != "number":
                raise InvalidExpression(f"第 {child.column} 列：算术运算和 min/max 只能用于数值")
        return "number"
    if isinstance(node, Compare):
        left, right = type_of(node.left, facts), type_of(node.right, facts)
        if left != right:
            raise InvalidExpression(
                f"第 {node.column} 列：不能比较{_type_name(left)}与{_type_name(right)}（{node.op}）"
            )
        if left != "number" and node.op not in ("==", "!="):
            raise InvalidExpression(f"第 {node.column} 列：{_type_name(left)}只能用 == 或 != 比较")
        return "boolean"
    if isinstance(node, Member):
        item = type_of(node.item, facts)
        for option in node.options:
            if type_of(option, facts) != item:
                raise InvalidExpression(f"第 {option.column} 列：in 列表中的取值应为{_type_name(item)}")
        return "boolean"
    if isinstance(node, Not | BoolOp):
        for child in node.children():
            if type_of(child, facts) != "boolean":
                raise InvalidExpression(f"第 {child.column} 列：and / or / not 只能连接条件（是/否）")
        return "boolean"
    raise InvalidExpression(f"无法识别的表达式：{node!r}")  # pragma: no cover


def compile_condition(text: str, facts: Mapping[str, Type]) -> Node:
    """A condition (an expression of type 是/否) parsed and checked against the declared facts."""
    node = parse(text)
    if type_of(node, facts) != "boolean":
        raise InvalidExpression(f"条件应为是/否的判断：{text}")
    return node


def compile_number(text: str, facts: Mapping[str, Type]) -> Node:
    """A numeric expression parsed and checked against the declared facts."""
    node = parse(text)
    if type_of(node, facts) != "number":
        raise InvalidExpression(f"应为数值表达式：{text}")
    return node


def substitute(node: Node, names: Mapping[str, Node]) -> Node:
    """``node`` with every fact named in ``names`` replaced by its tree: how a pack's named
    conditions (``definitions``) are inlined, so both back ends see one plain expression."""
    if isinstance(node, Fact):
        return names.get(node.name, node)
    if isinstance(node, Const):
        return node
    if isinstance(node, Neg | Not):
        return replace(node, operand=substitute(node.operand, names))
    if isinstance(node, Arith | Compare):
        return replace(node, left=substitute(node.left, names), right=substitute(node.right, names))
    if isinstance(node, Member):
        return replace(node, item=substitute(node.item, names))
    if isinstance(node, BoolOp):
        return replace(node, operands=tuple(substitute(o, names) for o in node.operands))
    if isinstance(node, Call):
        return replace(node, args=tuple(substitute(a, names) for a in node.args))
    raise TypeError(f"cannot substitute in {node!r}")  # pragma: no cover
