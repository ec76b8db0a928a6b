"""Whether a group message nobody addressed to the bot reads as a real report, wish or booking (a problem phrase,
not a bare topic), confidently enough to offer its sender to file it."""

from __future__ import annotations

import re

from bot.understanding.classifier import CASE_INTENTS, Classifier, Intent, normalize
from bot.understanding.emergencies import emergency_in

CHATTER = Intent.CHATTER

CUE_WEIGHT = 1.0  # an intent cue weighed below this (又, 一直) only colours a sentence
PHRASE_WEIGHT = 2.0  # a category problem phrase this heavy (电梯困人, 停水) names a problem without any cue
# A category keyword is a problem phrase only when it says something is wrong; a bare topic (打车, 义诊, 老年大学)
# is what neighbours chat about, however strongly it names a category.
PROBLEM_CHARS = frozenset("坏堵漏破碎断停臭吵乱脏倒塌裂占违偷盗困烧冒噪欠拖骗诈扰污霉没不无难差丢卡险滴渗灌砸闹咬呛熏缺掉歪锈飞抛扔坑洼积黄")
TOPIC_WEIGHT = 2.5  # a bare topic this heavy (消防通道) is a report when any complaint cue goes with it (好几天了)
CHATTER_VETO = 2.0  # chatter cues this strong (拼车, 团购, 出售) outweigh any topic
STANDALONE_CUES = 2.0  # report cues that name a problem even when no category does
MIN_CHARS = 5  # "电梯坏了" alone is a topic line in a chat about something else; a report says a little more
# Words that say the matter is not the sender's live request, whatever its topic: hearsay or news from
# elsewhere, something already fixed, a reposted notice, praise, or a question put to the neighbours.
NOT_A_REQUEST = re.compile(
    r"听说|新闻|电视上|朋友圈|网上说|隔壁小区|别的小区|那边|"
    r"修好了|已经好了|已经解决|解决了|搞定了|已经修|恢复了|可以用了|好多了|"
    r"^(?:【|转发|转[:：]|【转】|通知|公告|温馨提示|提醒|物业通知|物业提醒|物业公告|社区通知|社区提醒|大家注意)|"
    r"哈哈|可怜|真乖|真好|真漂亮|好看|可爱|点赞|辛苦|感谢|谢谢|"
    r"知道的说|有人知道|谁知道|大家知道|"
    # a fault denied or gone (没坏, 不漏了, 没事了), and when an announced outage or repair starts (几点停水)
    r"没(?:有)?(?:坏|堵|漏|塌)(?![了过])|不(?:堵|漏|吵|臭|滴)了|没事了|没事儿|"
    r"(?:几点|什么时候|啥时候|哪天|几号)(?:开始)?(?:停|检修)|"
    # the wording of a notice, wherever it is reposted from
    r"将于|届时|敬请|特此|请各位|请广大|带来不便|不便之处|请提前|互相转告|请相互转告|"
    # asking the neighbours whether they have it too (你们家停水了吗)
    r"(?:你们家|你们那|你们楼|大家家里)[^，,。！!]{0,10}(?:吗|没有?[？?])"
)


def offer_kind(classifier: Classifier, text: str) -> Intent | None:
    """The case kind (report, wish, appointment) an overheard group message confidently reads as, else None."""
    if emergency_in(text) is not None:
        return Intent.REPORT  # never left unheard, whatever else the words say
    norm = normalize(text)
    if len(norm) < MIN_CHARS or NOT_A_REQUEST.search(norm):
        return None
    if cue_weight(classifier, CHATTER, without_cues(classifier, Intent.REPORT, norm)) >= CHATTER_VETO:
        return None
    result = classifier.classify(text)
    if result.intent in CASE_INTENTS:
        cues = {intent: cue_weight(classifier, intent, norm) for intent in CASE_INTENTS}
        if cues[result.intent] >= CUE_WEIGHT:
            return result.intent
        phrases = [k for k in result.category.keywords if k.word in result.keywords] if result.category else []
        if any(k.weight >= PHRASE_WEIGHT and not PROBLEM_CHARS.isdisjoint(k.word) for k in phrases):
            return result.intent
        if cues[result.intent] > 0 and any(k.weight >= TOPIC_WEIGHT for k in phrases):
            return result.intent
        # A wish or booking worded plainly (希望…, 想办…) whose topic words a report category happens to own.
        other = max(CASE_INTENTS, key=lambda intent: cues[intent])
        return other if cues[other] >= CUE_WEIGHT else None
    if result.intent is CHATTER and cue_weight(classifier, Intent.REPORT, norm) >= STANDALONE_CUES:
        return Intent.REPORT  # a problem stated plainly about a thing the categories do not name (门坏了，锁不上)
    return None


def cue_weight(classifier: Classifier, intent: Intent, norm: str) -> float:
    """The summed weight of the intent's own cue words in the text, each stretch of text counted once."""
    rule = classifier.rules.intents.get(intent.value)
    if rule is None:
        return 0.0
    taken = [False] * len(norm)
    total = 0.0
    for keyword in sorted(rule.keywords, key=lambda k: -len(k.word)):
        word = normalize(keyword.word)
        start = norm.find(word) if word else -1
        while start >= 0:
            if not any(taken[start:start + len(word)]):
                taken[start:start + len(word)] = [True] * len(word)
                total += keyword.weight
                break
            start = norm.find(word, start + 1)
    return total


def without_cues(classifier: Classifier, intent: Intent, norm: str) -> str:
    """The text with the intent's cue words blanked out, longest first (没通知 is a complaint, not a 通知)."""
    for keyword in sorted(classifier.rules.intents[intent.value].keywords, key=lambda k: -len(k.word)):
        if len(word := normalize(keyword.word)) >= 2:
            norm = norm.replace(word, " ")
    return norm
