"""Text as the classifier sees it: normalised (width, case, traditional characters folded) and read as pinyin."""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from codecs import utf_32_be_decode, utf_32_le_decode

try:
    import cython
except ImportError:  # only compiling this module needs Cython (bot/understanding/compiled.py)
    from bot.understanding import cython_stub as cython

from bot.understanding.pinyin import Style, pinyin

MAX_INPUT_CHARS = 8000  # raw characters looked at; keeps normalisation of a huge paste bounded
MAX_CHARS = 2000  # normalised characters matched; a resident's request is in its first lines

_DROP = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff"
    "\u2600-\u27bf\u2b00-\u2bff\ud800-\udfff\ue000-\uf8ff\U0001f000-\U0001faff\U000e0000-\U0010ffff\u20e3]"
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
# Full-width forms and traditional characters are found through one regex and each distinct one replaced once:
# most messages hold few of them (a 400-character one ~17, 2-3 distinct: ，！？), so this costs far less than
# str.translate over every character or a Python call per occurrence, and it lets most texts skip NFKC entirely.
_FOLD_MAP = dict(zip(_TRADITIONAL[0::2], _TRADITIONAL[1::2], strict=True)) \
    | {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
_FOLDABLE = re.compile("[" + re.escape("".join(_FOLD_MAP)) + "]")
assert _FOLD_MAP.keys().isdisjoint(_FOLD_MAP.values())  # so replacing one character at a time folds each once
_READINGS: dict[str, tuple[str, ...]] = {}
# Compiled, normalize() reads each character once through two tables over the BMP where the regexes test every
# position; the regexes still take what the tables cannot (tags, a lower case of several characters, non-printable
# characters, runs of spaces, surrogates, text NFKC changes). Built at first use (~40 ms).
_TABLES: list[array] = []
DROPPED = 0x110000  # in the cleaning table: a character _DROP removes
IRREGULAR = 0x110001  # in the cleaning table: a character only the regexes handle
units_text = utf_32_le_decode if sys.byteorder == "little" else utf_32_be_decode  # array("I") to text


def normalize(text: str) -> str:
    """Folds width, case and traditional characters; drops control characters, emoji and HTML tags."""
    text = text[:MAX_INPUT_CHARS]
    folded = _folded_by_table(text) if cython.compiled else None
    text = _fold(text) if folded is None else folded
    if not unicodedata.is_normalized("NFKC", text):
        text = _fold(unicodedata.normalize("NFKC", text))
    elif cython.compiled and (cleaned := _cleaned_by_table(text)) is not None:
        return cleaned
    text = _DROP.sub("", _TAG.sub(" ", text.lower()))
    # Whitespace other than the space is never printable, so a printable text without two spaces in a row has
    # nothing for _SPACE to fold, and one without a space nothing for _HAN_GAP: both regexes test every position.
    if not text.isprintable() or "  " in text:
        text = _SPACE.sub(" ", text)
    if " " in text:
        text = _HAN_GAP.sub("", text)
    return text.strip()[:MAX_CHARS]


def _fold(text: str) -> str:
    """Full-width forms and traditional characters folded."""
    for char in set(_FOLDABLE.findall(text)):
        text = text.replace(char, _FOLD_MAP[char])
    return text


def _tables() -> list[array]:
    """The folding table (each BMP character as _fold leaves it) and the cleaning table (each folded character
    as lower() and _DROP leave it, DROPPED or IRREGULAR)."""
    if not _TABLES:
        fold = array("I", range(0x10000))
        for char, folded in _FOLD_MAP.items():
            fold[ord(char)] = ord(folded)
        _TABLES.extend((fold, array("I", map(_cleaned, range(0x10000)))))
    return _TABLES


def _cleaned(code: int) -> int:
    """The cleaning table's entry for a folded character."""
    lowered = chr(code).lower()
    if len(lowered) != 1 or lowered == "<":  # several characters; a tag's start
        return IRREGULAR
    if _DROP.match(lowered):
        return DROPPED
    if not lowered.isprintable():  # whitespace but the space (for _SPACE), or what normalize() keeps
        return IRREGULAR
    return ord(lowered)


def _folded_by_table(text: str) -> str | None:
    """_fold(text) through the folding table (no character outside the BMP folds); None with a surrogate, which
    text can hold but not UTF-32."""
    units = array("I", bytes(4 * len(text)))
    out, fold = units, _tables()[0]
    for at, char in enumerate(text):
        if 0xD800 <= ord(char) <= 0xDFFF:
            return None
        out[at] = fold[ord(char)] if ord(char) <= 0xFFFF else ord(char)
    return units_text(units)[0]


def _cleaned_by_table(text: str) -> str | None:
    """What normalize() makes of folded NFKC text after folding, through the cleaning table; None when the
    regexes are needed."""
    units = array("I", bytes(4 * len(text)))
    out, clean, dropped, irregular = units, _tables()[1], DROPPED, IRREGULAR
    size = 0
    for char in text:
        unit = clean[ord(char)] if ord(char) <= 0xFFFF else _cleaned(ord(char))  # outside the BMP: rare
        if unit == dropped:
            continue
        if unit == irregular or unit == 0x20 and size and out[size - 1] == 0x20:  # a run of spaces for _SPACE
            return None
        out[size] = unit
        size += 1
    # _HAN_GAP: a space between two Han characters goes. Kept characters move down, each to a place already read
    # past, so the neighbours compared are the original ones.
    kept = 0
    for at in range(size):
        if out[at] == 0x20 and 0 < at < size - 1 and 0x3400 <= out[at - 1] <= 0x9FFF \
                and 0x3400 <= out[at + 1] <= 0x9FFF:
            continue
        out[kept] = out[at]
        kept += 1
    first, last = 0, kept  # strip(): the space is the only whitespace left
    while first < last and out[first] == 0x20:
        first += 1
    while last > first and out[last - 1] == 0x20:
        last -= 1
    return units_text(units[first:min(last, first + MAX_CHARS)])[0]


def is_han(char: str) -> bool:
    """Whether a character is a CJK ideograph (basic, extension A, or the supplementary planes)."""
    return "\u3400" <= char <= "\u9fff" or "\U00020000" <= char <= "\U0002fa1f"


def char_readings(char: str) -> tuple[str, ...]:
    """Tone-less pinyin readings of a Han character (all heteronyms, main reading first), empty otherwise; cached."""
    readings = _READINGS.get(char)
    if readings is None:
        if is_han(char):
            found = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
            readings = tuple(dict.fromkeys(found[0])) if found else ()
        else:
            readings = ()
        _READINGS[char] = readings
    return readings
