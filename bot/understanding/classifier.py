"""Fuzzy keyword classifier: a resident's message to an intent and a case category, with a confidence.

Keywords match three ways, strongest first: exactly (after normalisation), fuzzily (one wrong character in a
keyword of 4+ characters, rapidfuzz Indel partial ratio), and by tone-less pinyin (homophone typos such as
路等 for 路灯). Category scores are weighted sums of matched keywords; a category's negative keyword vetoes it.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pypinyin import Style, lazy_pinyin, pinyin
from rapidfuzz.fuzz import partial_ratio_alignment

from bot.understanding.rules import (
    CASE_KINDS,
    CHATTER,
    INTENT_NAMES,
    Category,
    RulesError,
    RuleSet,
    load_rules,
)


class Intent(StrEnum):
    REPORT = "report"
    WISH = "wish"
    APPOINTMENT = "appointment"
    STATUS = "status"
    RATING = "rating"
    HELP = "help"
    CANCEL = "cancel"
    CHATTER = "not_for_bot"


CASE_INTENTS = (Intent.REPORT, Intent.WISH, Intent.APPOINTMENT)
# Equal totals go to the first intent here: a conversational reply beats a new case, chatter beats a case
# (a wrong case annoys a whole group), a report beats a wish.
TIE_ORDER = (Intent.STATUS, Intent.CANCEL, Intent.RATING, Intent.CHATTER, Intent.REPORT, Intent.APPOINTMENT,
             Intent.WISH, Intent.HELP)

MAX_INPUT_CHARS = 8000  # raw characters looked at; keeps normalisation of a huge paste bounded
MAX_CHARS = 2000  # normalised characters matched; a resident's request is in its first lines
MIN_CHARS = 2  # a single character ("好", "1", "?") is never evidence of anything
MIN_CASE_SCORE = 2.0  # cues + best category a message needs to be anything but chatter (see config/rules.yaml)
FUZZY_MIN_CHARS = 4  # shorter keywords are too easy to hit by accident; pinyin covers their typos
FUZZY_CUTOFF = 75.0  # Indel partial ratio: one substituted character in 4-7 characters, two in 8+
FUZZY_FACTOR = 0.85  # a fuzzy match counts this share of its ratio
PINYIN_FACTOR = 0.8
PINYIN_MIN_CHARS_CUE = 3  # 2-character intent cues (坏了) have too many homophones (怀了) to match by sound
CONTAINED_FACTOR = 0.3  # a match inside a longer match of a rival category or intent counts this much
# A fuzzy match may not drop these: swapping 不 for 很 or 坏 for 好 turns a complaint into praise.
POLARITY_CHARS = frozenset("不没无未非别坏停漏堵断破")
CASE_NUMBER = re.compile(r"#\d{1,9}|(?:编号|单号|工单号?|案件号?)\s*\d{1,9}")
NUMBERED = re.compile(r"\d{1,9}号(?![楼院门栋单元层室户床线路街巷口房车位])")
COMMAND = re.compile(r"^/([a-z][a-z0-9_]*)(?:@[a-z0-9_]+)?(?![a-z0-9_@])\s*")

_DROP = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff"
    "\u2600-\u27bf\u2b00-\u2bff\ud800-\udfff\ue000-\uf8ff\U0001f000-\U0001faff\U000e0000-\U000e007f\u20e3]"
)
_TAG = re.compile(r"</?[a-z][^<>]{0,200}>")
_SPACE = re.compile(r"\s+")
_HAN_GAP = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")
# Traditional characters residents type on some phones, folded so that exact matching still works.
_TRADITIONAL = (
    "燈灯壞坏電电禮礼個个樓楼運运棟栋氣气熱热區区門门車车號号無无問问題题們们這这麼么會会點点業业時时開开關关"
    "來来後后裡里裏里對对幾几為为說说話话請请謝谢滿满處处辦办報报給给錢钱費费務务醫医療疗險险證证護护養养戶户"
    "遷迁銷销預预約约進进斷断燒烧煙烟髒脏亂乱聲声響响擾扰鄰邻糾纠紛纷調调馬马麵面飯饭館馆東东盜盗竊窃騙骗詐诈"
    "賭赌貓猫寵宠學学習习書书筆笔衛卫廁厕廣广場场動动機机壓压線线變变網网絡络員员黨党離离遺遗囑嘱權权補补貼贴"
    "發发錯错評评價价讚赞贊赞維维測测試试邊边雙双鐘钟頭头現现見见聽听讓让認认識识讀读寫写買买賣卖貨货過过還还"
    "裝装內内剛刚幫帮張张劉刘陳陈趙赵楊杨黃黄綠绿樹树葉叶農农專专傳传團团園园圍围國国圖图與与兩两嚴严從从優优"
    "傷伤體体態态聯联總总經经濟济計计設设備备歲岁觀观歡欢親亲難难雞鸡魚鱼鬧闹隊队陽阳際际隨随隱隐積积穩稳類类"
    "緊紧紅红級级組组織织結结統统續续繳缴臨临舊旧藥药蟲虫蠅蝇殺杀滅灭檢检驗验診诊異异遠远適适選选遲迟鎖锁鐵铁"
    "鋼钢鑰钥間间閒闲閉闭闆板順顺領领頻频顯显風风飛飞飲饮驛驿髮发鬆松齊齐齡龄龍龙幹干乾干歷历曆历準准凍冻"
    "涼凉淨净溝沟濕湿災灾爐炉燙烫爭争爺爷牆墙狀状獨独獲获環环產产産产畫画當当瘋疯癱瘫瘓痪盡尽監监盤盘礙碍確确"
    "禍祸窩窝節节築筑簽签糧粮紙纸細细終终綫线縣县繩绳罰罚義义聞闻職职腦脑腳脚臉脸興兴舉举藝艺術术衝冲複复覺觉"
    "訊讯託托記记許许該该詳详誤误課课誰谁論论講讲豐丰負负貧贫責责貴贵賠赔質质購购趕赶軟软載载輕轻輛辆輪轮遞递"
    "鄉乡醬酱釘钉針针鋪铺錄录長长閘闸陣阵陸陆雖虽雜杂雲云靜静項项須须頓顿額额顏颜願愿顧顾餓饿駕驾騎骑驚惊麥麦"
    "廢废廠厂廳厅彈弹彎弯徑径復复憂忧懷怀擁拥擋挡據据擠挤擴扩攤摊攜携數数晝昼暫暂曬晒條条樂乐標标樣样構构橋桥"
    "檔档櫃柜欄栏殘残毆殴決决沒没況况洩泄淺浅湯汤滲渗漲涨潔洁澆浇濫滥灣湾煩烦營营爛烂牽牵獎奖盞盏碼码礦矿稅税"
    "窮穷競竞範范簡简紀纪納纳綁绑綜综編编緩缓練练縫缝績绩羅罗腫肿蓋盖薦荐虧亏襪袜視视規规訂订訪访詢询語语"
    "諮咨豬猪賀贺資资賬账贈赠跡迹踐践轉转辭辞連连週周遊游達达違违釋释銀银鏈链閃闪閱阅階阶靈灵頂顶頸颈颳刮"
    "飄飘餅饼駛驶鬍胡鹽盐麗丽黴霉壩坝墊垫壺壶壽寿夢梦夥伙奪夺奮奋婦妇媽妈孫孙寧宁實实寬宽寶宝將将尋寻導导層层"
    "屬属島岛崗岗幣币帳帐帶带庫库廚厨強强歸归愛爱慶庆懶懒懸悬擇择擊击擔担擺摆攔拦斬斩暈晕曉晓棄弃榮荣橫横歐欧"
    "殼壳汙污溫温滾滚漢汉潑泼濾滤瀉泻烏乌燉炖爾尔獅狮畢毕疊叠癢痒睏困稱称穀谷竄窜糞粪紮扎絲丝緣缘縮缩繼继纏缠"
    "罵骂翹翘聰聪脫脱膠胶臺台莊庄華华萬万蒼苍藍蓝蘋苹虛虚衆众褲裤觸触訴诉詞词誇夸誠诚談谈謊谎貝贝貸贷賓宾賴赖"
    "贏赢軍军較较輔辅輸输迴回郵邮釣钓鈕钮鍋锅鍵键鎮镇鏡镜閣阁闊阔陝陕隻只霧雾顆颗餃饺餘余饅馒驅驱鬱郁鮮鲜鴨鸭"
    "鵝鹅鹹咸嘆叹噴喷嚇吓圓圆塊块塗涂塵尘墜坠夾夹嬰婴屍尸廟庙徹彻惡恶惱恼慣惯撐撑撥拨撲扑攪搅敗败暢畅桿杆"
    "樁桩檯台櫥橱歎叹潰溃濃浓燭烛狹狭獄狱癡痴皺皱盃杯睜睁礎础祕秘篩筛簾帘籌筹紋纹綱纲緻致縱纵繞绕纖纤罷罢聳耸"
    "艦舰蓮莲蘆芦蠶蚕訓训諒谅諾诺謹谨譯译貪贪賊贼賽赛蹤踪軌轨軸轴轎轿遙遥鄧邓釀酿鈔钞鈴铃鏟铲鑄铸閥阀闖闯鞏巩"
    "韻韵顫颤餵喂饑饥馳驰騷骚驕骄鳳凤鴿鸽鶴鹤壯壮漿浆鬥斗戲戏韓韩瀏浏"
)
_FOLD = str.maketrans(_TRADITIONAL[0::2], _TRADITIONAL[1::2])
_READINGS: dict[str, tuple[str, ...]] = {}


@dataclass(frozen=True)
class CategoryMatch:
    category: Category
    score: float
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    """What a message is. For report/wish/appointment the confidence is that of the category (0 when none)."""

    intent: Intent
    category: Category | None
    confidence: float
    keywords: tuple[str, ...]
    candidates: tuple[CategoryMatch, ...]

    def as_dict(self) -> dict:
        """A JSON-ready summary for case records and staff views."""
        category = {"code": self.category.code, "name": self.category.name} if self.category else None
        return {"intent": self.intent.value, "category": category, "confidence": round(self.confidence, 2),
                "keywords": list(self.keywords)}


def normalize(text: str) -> str:
    """Folds width, case and traditional characters; drops control characters, emoji and HTML tags."""
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT_CHARS]).lower()
    text = _DROP.sub("", _TAG.sub(" ", text.translate(_FOLD)))
    return _HAN_GAP.sub("", _SPACE.sub(" ", text)).strip()[:MAX_CHARS]


def char_readings(char: str) -> tuple[str, ...]:
    """Tone-less pinyin readings of a Han character (all heteronyms), empty for anything else; cached."""
    readings = _READINGS.get(char)
    if readings is None:
        if "\u3400" <= char <= "\u9fff" or "\U00020000" <= char <= "\U0002fa1f":
            found = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
            readings = tuple(dict.fromkeys(found[0])) if found else ()
        else:
            readings = ()
        _READINGS[char] = readings
    return readings


class _Term:
    """One distinct normalised keyword and every rule (intent or category) that lists it."""

    __slots__ = ("buckets", "families", "key_chars", "owners", "pairs_needed", "size", "syllables", "word")

    def __init__(self, word: str) -> None:
        self.word = word
        self.size = len(word)
        self.owners: list[tuple[int, float, str]] = []  # (bucket, weight, keyword as written)
        self.buckets: frozenset[int] = frozenset()
        self.families: frozenset[bool] = frozenset()  # True: an intent owns it, False: a category does
        self.syllables: tuple[str, ...] = ()
        self.key_chars: frozenset[str] = frozenset()  # its rarest characters; a fuzzy match must keep one
        # Shared bigrams a fuzzy candidate needs: each substituted character removes at most two.
        self.pairs_needed = max(1, (self.size - 1) - 2 * (self.size // 4))


class Classifier:
    """Classifies messages against one RuleSet; immutable once built, safe to share."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._intents = tuple(Intent(name) for name in (*INTENT_NAMES, CHATTER) if name in rules.intents)
        self._categories = rules.categories
        self._first_category = len(self._intents)
        self._commands = {cmd: Intent(name) for name, rule in rules.intents.items() for cmd in rule.commands}
        self._hashtags = sorted(((tag, Intent(name)) for name, rule in rules.intents.items() for tag in rule.hashtags),
                                key=lambda item: -len(item[0]))
        self.hashtags = tuple(tag for tag, _ in self._hashtags)  # every intent's hashtags, longest first
        self._negatives = {index: tuple(w for w in map(normalize, category.negative) if w)
                           for index, category in enumerate(self._categories, self._first_category)}
        terms = self._collect_terms()
        mark_key_chars(terms)
        self.keyword_count = len(terms)
        self._single: dict[str, _Term] = {}
        self._by_pair: dict[str, list[_Term]] = {}
        self._fuzzy_by_pair: dict[str, list[_Term]] = {}
        self._pinyin_first: dict[str, dict[str, list[_Term]]] = {}
        for term in terms:
            self._index(term)

    def _collect_terms(self) -> list[_Term]:
        """Distinct normalised keywords with their owners; keywords that normalise to nothing are skipped."""
        by_word: dict[str, _Term] = {}
        sources: list[tuple[int, Iterable]] = [(i, self.rules.intents[intent.value].keywords)
                                              for i, intent in enumerate(self._intents)]
        sources += [(i, c.keywords) for i, c in enumerate(self._categories, self._first_category)]
        for bucket, keywords in sources:
            for keyword in keywords:
                word = normalize(keyword.word)
                if word:
                    by_word.setdefault(word, _Term(word)).owners.append((bucket, keyword.weight, keyword.word))
        for term in by_word.values():
            term.buckets = frozenset(b for b, _, _ in term.owners)
            term.families = frozenset(b < self._first_category for b in term.buckets)
        return list(by_word.values())

    def _index(self, term: _Term) -> None:
        """Files a term under the lookups for exact, fuzzy and pinyin matching."""
        word = term.word
        if term.size == 1:
            self._single[word] = term
        else:
            self._by_pair.setdefault(word[:2], []).append(term)
        only_cue = False not in term.families
        # Intent cues are short function phrases where one changed character changes the meaning (能不能帮/修).
        if term.size >= FUZZY_MIN_CHARS and not only_cue:
            for pair in {word[i:i + 2] for i in range(term.size - 1)}:
                self._fuzzy_by_pair.setdefault(pair, []).append(term)
        if term.size >= (PINYIN_MIN_CHARS_CUE if only_cue else 2) and all(char_readings(c) for c in word):
            term.syllables = tuple(lazy_pinyin(word, style=Style.NORMAL))
            if len(term.syllables) == term.size:
                first, second = term.syllables[:2]
                self._pinyin_first.setdefault(first, {}).setdefault(second, []).append(term)

    # --- public API -------------------------------------------------------------------------------------

    def classify(self, text: str) -> Classification:
        """The intent of a message and, for reports, wishes and appointments, its category."""
        norm = normalize(text if isinstance(text, str) else str(text or ""))
        command = COMMAND.match(norm)
        if command:
            return self._by_command(command.group(1), norm[command.end():])
        for tag, intent in self._hashtags:
            if tag in norm:
                return self._by_trigger(intent, norm.replace(tag, " "))
        return self._by_keywords(norm)

    def categorize(self, text: str, kind: str) -> Classification:
        """The best category of a given case kind for a message the conversation already knows the kind of."""
        if kind not in CASE_KINDS:
            raise ValueError(f"not a case kind: {kind!r}")
        norm = normalize(text if isinstance(text, str) else str(text or ""))
        command = COMMAND.match(norm)
        if command:
            norm = norm[command.end():]
        for tag, _ in self._hashtags:
            norm = norm.replace(tag, " ")
        return self._by_trigger(Intent(kind), norm)

    # --- decisions --------------------------------------------------------------------------------------

    def _by_command(self, name: str, rest: str) -> Classification:
        """A /command fixes the intent; unknown commands get help; text after a case command is categorised."""
        intent = self._commands.get("/" + name)
        if intent is None:
            return Classification(Intent.HELP, None, 0.5, (), ())
        return self._by_trigger(intent, rest)

    def _by_trigger(self, intent: Intent, norm: str) -> Classification:
        """The intent is given (command, hashtag or conversation); only the category is scored."""
        if intent not in CASE_INTENTS:
            return Classification(intent, None, 1.0, (), ())
        _, _, matches = self._score(norm.strip())
        ranked = of_kind(matches, intent.value)
        if not ranked:
            return Classification(intent, None, 0.0, (), ())
        best = ranked[0]
        return Classification(intent, best.category, category_confidence(ranked), best.keywords, tuple(ranked[:3]))

    def _by_keywords(self, norm: str) -> Classification:
        """Free text: intent cues and category scores decide together."""
        totals, cues, matches = self._score(norm)
        if CASE_NUMBER.search(norm):
            totals[Intent.STATUS] += 2.5
        elif NUMBERED.search(norm):
            totals[Intent.STATUS] += 1.0
        ranked_by_kind = {intent: of_kind(matches, intent.value) for intent in CASE_INTENTS}
        for intent, ranked in ranked_by_kind.items():
            if ranked:
                totals[intent] += ranked[0].score
        intent = max(TIE_ORDER, key=lambda i: (totals[i], -TIE_ORDER.index(i)))
        best_total = totals[intent]
        if intent is Intent.CHATTER or best_total < MIN_CASE_SCORE:
            evidence = max(t for i, t in totals.items() if i is not Intent.CHATTER)
            return Classification(Intent.CHATTER, None, round(math.exp(-evidence / 2.5), 4), (), tuple(matches[:3]))
        if intent not in CASE_INTENTS:
            rival = max(t for i, t in totals.items() if i is not intent)
            return Classification(intent, None, intent_confidence(best_total, rival), tuple(cues[intent]), ())
        ranked = ranked_by_kind[intent]
        if not ranked:
            return Classification(intent, None, 0.0, tuple(cues[intent]), ())
        confidence = min(category_confidence(ranked), 1.0 - math.exp(-best_total / 2.5))
        best = ranked[0]
        keywords = tuple(dict.fromkeys(best.keywords + tuple(cues[intent])))
        return Classification(intent, best.category, round(confidence, 4), keywords, tuple(ranked[:3]))

    # --- matching ---------------------------------------------------------------------------------------

    def _score(self, norm: str) -> tuple[dict[Intent, float], dict[Intent, list[str]], list[CategoryMatch]]:
        """Intent cue totals and matched cues, and the categories that scored, best first (file order on ties)."""
        totals = dict.fromkeys(TIE_ORDER, 0.0)
        cues: dict[Intent, list[str]] = {intent: [] for intent in TIE_ORDER}
        if len(norm) < MIN_CHARS:
            return totals, cues, []
        hits: dict[_Term, tuple[float, int, int]] = {}
        self._match_exact(norm, hits)
        self._match_fuzzy(norm, hits)
        self._match_pinyin(norm, hits)
        contributions: list[tuple[float, int, str]] = []
        spans = list(hits.items())
        first_category = self._first_category
        for term, (strength, start, end) in spans:
            for bucket, weight, written in term.owners:
                factor = containment(term, bucket, bucket < first_category, start, end, spans)
                if factor > 0:
                    contributions.append((weight * strength * factor, bucket, written))
        contributions.sort(key=lambda item: -item[0])
        scores: dict[int, float] = {}
        words: dict[int, list[str]] = {}
        for value, bucket, written in contributions:
            if bucket < first_category:
                intent = self._intents[bucket]
                totals[intent] += value
                cues[intent].append(written)
            else:
                scores[bucket] = scores.get(bucket, 0.0) + value
                words.setdefault(bucket, []).append(written)
        matches = [
            CategoryMatch(self._categories[bucket - first_category], round(scores[bucket], 4), tuple(words[bucket]))
            for bucket in sorted(scores)
            if not any(word in norm for word in self._negatives[bucket])
        ]
        matches.sort(key=lambda match: -match.score)
        return totals, cues, matches

    def _match_exact(self, norm: str, hits: dict[_Term, tuple[float, int, int]]) -> None:
        """Keywords present verbatim; the first occurrence is kept."""
        single, by_pair = self._single, self._by_pair
        for i, char in enumerate(norm):
            term = single.get(char)
            if term is not None and term not in hits:
                hits[term] = (1.0, i, i + 1)
            for term in by_pair.get(norm[i:i + 2], ()):
                if term not in hits and norm.startswith(term.word, i):
                    hits[term] = (1.0, i, i + term.size)

    def _match_fuzzy(self, norm: str, hits: dict[_Term, tuple[float, int, int]]) -> None:
        """Long keywords with one wrong, missing or extra character, found through shared character bigrams."""
        length = len(norm)
        if length < FUZZY_MIN_CHARS:
            return
        exact = [term for term in hits if term.size >= FUZZY_MIN_CHARS - 1]
        shared: dict[_Term, int] = {}
        for pair in {norm[i:i + 2] for i in range(length - 1)}:
            for term in self._fuzzy_by_pair.get(pair, ()):
                shared[term] = shared.get(term, 0) + 1
        for term, count in shared.items():
            if count < term.pairs_needed or term.size > length or term in hits:
                continue
            # Text holding 居住证 exactly is about 居住证, not a misspelt 居住证明.
            if any(other.size == term.size - 1 and other.word in term.word for other in exact):
                continue
            found = partial_ratio_alignment(term.word, norm, score_cutoff=FUZZY_CUTOFF)
            # rapidfuzz also aligns against windows cut short at either end of the text; those match a
            # keyword's prefix (电动车 for 电动车上楼), so only full-length windows count.
            if found is None or found.dest_end - found.dest_start != term.size:
                continue
            window = norm[found.dest_start:found.dest_end]
            if term.key_chars.isdisjoint(window) or any(c in POLARITY_CHARS and c not in window for c in term.word):
                continue
            hits[term] = (FUZZY_FACTOR * found.score / 100.0, found.dest_start, found.dest_end)

    def _match_pinyin(self, norm: str, hits: dict[_Term, tuple[float, int, int]]) -> None:
        """Keywords spelled with homophones: same tone-less syllables, at least half the characters identical."""
        cache = _READINGS
        readings = [cache[c] if c in cache else char_readings(c) for c in norm]
        first = self._pinyin_first
        length = len(norm)
        # As with fuzzy matching: text holding 电梯 exactly followed by 都 is not a misspelt 电梯抖.
        exact = {term.word for term, (strength, _, _) in hits.items() if strength == 1.0 and term.size >= 2}
        # Characters an exact keyword already claims are not read again as a homophone of another: in
        # 5号楼电梯坏了 the 电 of 电梯坏 is not also the 电 of 漏电 (楼电 sounds like 漏电).
        claimed = bytearray(length + 1)
        for term, (strength, start, end) in hits.items():
            if strength == 1.0 and term.size >= 2:
                claimed[start:end] = b"\x01" * (end - start)
        for i in range(length - 1):
            here, after = readings[i], readings[i + 1]
            if not here or not after:
                continue
            for syllable in here:
                seconds = first.get(syllable)
                if seconds is None:
                    continue
                for second in after:
                    for term in seconds.get(second, ()):
                        if i + term.size <= length and hits.get(term, (0.0,))[0] < PINYIN_FACTOR \
                                and sounds_like(term, norm, i, readings) \
                                and norm[i:i + term.size - 1] not in exact and norm[i + 1:i + term.size] not in exact \
                                and not any(claimed[i:i + term.size]):
                            hits[term] = (PINYIN_FACTOR, i, i + term.size)


def of_kind(matches: list[CategoryMatch], kind: str) -> list[CategoryMatch]:
    """The matches whose category applies to a case kind, order kept."""
    return [match for match in matches if kind in match.category.kinds]


def mark_key_chars(terms: list[_Term]) -> None:
    """Records each term's rarest characters across all terms: 困 in 困在电梯, not the common 电梯."""
    frequency: dict[str, int] = {}
    for term in terms:
        for char in set(term.word):
            frequency[char] = frequency.get(char, 0) + 1
    for term in terms:
        rarest = min(frequency[char] for char in term.word)
        term.key_chars = frozenset(char for char in term.word if frequency[char] == rarest)


def sounds_like(term: _Term, norm: str, start: int, readings: list[tuple[str, ...]]) -> bool:
    """Whether the text at `start` reads like the term, with at least half its characters but not all identical.

    In a two-character keyword the wrong character must sound right in its main reading: an input method
    offers 听 for "ting", but 冒 read as its rare "mo" is no typo of 摸.
    """
    same = 0
    for k, char in enumerate(term.word):
        here = readings[start + k]
        if norm[start + k] == char:
            same += 1
        elif term.syllables[k] not in (here[:1] if term.size == 2 else here):
            return False
    return same < term.size and 2 * same >= term.size


def containment(term: _Term, bucket: int, is_intent: bool, start: int, end: int,
                spans: list[tuple[_Term, tuple[float, int, int]]]) -> float:
    """How much a match counts inside longer matches: nothing inside its own rule's, less inside a rival's.

    Rivals are of the same family only: an intent cue inside a category keyword (不亮 in 路灯不亮) still counts.
    """
    factor = 1.0
    for other, (_, other_start, other_end) in spans:
        if other is term or not (other_start <= start and end <= other_end) or other_end - other_start <= end - start:
            continue
        if bucket in other.buckets:
            return 0.0
        if is_intent in other.families:
            factor = CONTAINED_FACTOR
    return factor


def category_confidence(ranked: list[CategoryMatch]) -> float:
    """High for a strong single match, at most half the strength when the top two tie."""
    best = ranked[0].score
    second = ranked[1].score if len(ranked) > 1 else 0.0
    strength = 1.0 - math.exp(-best / 0.8)
    return round(strength * (0.5 + 0.5 * (best - second) / best), 4)


def intent_confidence(best: float, second: float) -> float:
    """High for strong cues with no rival intent."""
    strength = 1.0 - math.exp(-best / 1.5)
    return round(strength * (0.5 + 0.5 * (best - second) / best), 4) if best > 0 else 0.0


class ReloadingClassifier:
    """Holds the current Classifier; reloads the YAML when its mtime changes; an invalid new file keeps the old rules and records the error."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stamp = self._file_stamp()
        self._classifier = Classifier(load_rules(self.path))
        self.last_error: str | None = None

    def current(self) -> Classifier:
        """The classifier for the file as it is now; a failed reload is not retried until the file changes."""
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._classifier = Classifier(load_rules(self.path))
                self.last_error = None
            except RulesError as exc:
                self.last_error = str(exc)
        return self._classifier

    def _file_stamp(self) -> tuple[int, int] | None:
        """Modification time and size, or None when the file cannot be seen."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size
