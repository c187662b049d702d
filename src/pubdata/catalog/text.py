"""Chinese text segmentation for catalogue search, with jieba.

Indexing uses jieba's full mode, which emits every dictionary word found anywhere in the text, so a
query word matches an entry whenever the entry's text contains it, however jieba would have
segmented the surrounding sentence. Titles and tags also index single characters, so one-character
queries (水, 税) work. Queries are segmented in precise mode without HMM, so every query term is a
dictionary word or a single character — both of which the index holds.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable

import jieba

# Words of this domain that jieba's general dictionary lacks or would split.
DOMAIN_WORDS = (
    "一企一档",
    "专精特新",
    "跨境电商",
    "海外仓",
    "独立站",
    "统一社会信用代码",
    "社会信用代码",
    "失信被执行人",
    "经营异常",
    "行政处罚",
    "高新技术企业",
    "不动产",
    "公积金",
    "医保",
    "三医",
    "数据目录",
    "公共数据",
    "市场主体",
    "营业执照",
    "纳税信用",
    "社保",
    "养老保险",
    "医疗保险",
    "工伤保险",
    "失业保险",
    "生育保险",
    "用水",
    "用电",
    "用气",
    "企业信用",
    "信用评价",
    "双随机",
    "红名单",
    "黑名单",
    "政策通",
    "银企直通车",
    "航贸金",
    "数商",
    "数据信托",
    "市南区",
    "市北区",
    "李沧区",
    "崂山区",
    "黄岛区",
    "城阳区",
    "即墨区",
    "胶州市",
    "平度市",
    "莱西市",
)
STOPWORDS = frozenset("的了和与及或等在是对为之中其有上下由从按以于将被所")
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_TERM_LENGTH = 64

_tokenizer: jieba.Tokenizer | None = None
_lock = threading.Lock()


def tokenizer() -> jieba.Tokenizer:
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                for word in DOMAIN_WORDS:
                    tok.add_word(word, freq=20000)
                _tokenizer = tok
    return _tokenizer


def _normalise(token: str) -> str | None:
    token = token.strip().lower()
    if not token or len(token) > MAX_TERM_LENGTH or not _WORD.search(token):
        return None
    return token


def index_terms(text: str, *, with_chars: bool = False) -> Counter[str]:
    """Every term of ``text`` with its frequency."""
    counts: Counter[str] = Counter()
    if not text:
        return counts
    for token in tokenizer().cut(text, cut_all=True):
        term = _normalise(token)
        if term:
            counts[term] += 1
    if with_chars:
        for ch in _CJK.findall(text):
            if ch not in counts:
                counts[ch] += 1
    return counts


def query_terms(query: str) -> list[str]:
    """The distinct terms a query requires, in order."""
    terms: list[str] = []
    for token in tokenizer().cut(query, HMM=False):
        term = _normalise(token)
        if term and term not in terms:
            terms.append(term)
    meaningful = [t for t in terms if t not in STOPWORDS]
    terms = meaningful or terms
    if any(len(t) > 1 for t in terms):
        terms = [t for t in terms if len(t) > 1 or not _CJK.match(t)]
    return terms


def weighted_terms(parts: Iterable[tuple[str, int, bool]]) -> dict[str, int]:
    """Combine (text, field weight, index single characters) parts into term → integer weight."""
    weights: Counter[str] = Counter()
    for text, weight, with_chars in parts:
        for term, tf in index_terms(text, with_chars=with_chars).items():
            weights[term] += weight * min(tf, 5)
    return dict(weights)
