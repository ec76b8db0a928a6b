"""Emergencies: people trapped in a lift, fire or smoke, a gas smell, someone missing, fallen or unconscious, an
electric shock, someone in the water, on the ice or about to jump, a child locked in a car, a cry for help, a fight
with a weapon, sparking wires, a flooded home or garage, someone bleeding. Each kind names the number to call at once
(configured per district)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.understanding.classifier import normalize
from bot.understanding.text import char_readings


@dataclass(frozen=True, slots=True)
class Emergency:
    code: str
    label: str  # 紧急情况的中文名
    number: str  # key into the emergency numbers: police | fire | ambulance | gas | lift
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None = None  # what makes the words that matched mean something else


# Fire or smoke as a figure of speech (气得冒烟, 嗓子冒烟, 钱包着火了): no fire; the offer grammar blanks it too.
FIGURATIVE = re.compile(r"(?:热|气|急|渴|辣|累|馋|涨)得.{0,6}(?:冒烟|着火)|(?:嗓子|喉咙|脑袋|头)(?:都|快|要)?冒烟|"
                        r"(?:整个人|心里)(?:都)?着火|(?:脑子|大脑|脑袋)[^，,。！!]{0,2}(?:停电|断电|短路|死机)|"
                        # a screen's or a market's heat (评论区都着火了, 股市着火), one explained away (我说的是股市)
                        r"(?:钱包|直播间|评论区|弹幕|热搜|股市|股票|基金|大盘)[^，,。！!]{0,3}着火|我说的是|"
                        r"炒[^，,。！!]{0,6}糊|厨房杀手|(?:快|都|要)气(?:着火|冒烟)")
# A likeness (红得像着火了一样, 吵得跟着火似的) names no fire: it is read past, not the whole line (像着火一样 浓烟滚滚).
FIRE_LIKENESS = re.compile(r"像[^，,。！!]{0,3}(?:着火|起火|冒烟|失火)了?(?:一样|似的|一般)?|"
                           r"(?:跟|和)?(?:着火|冒烟)了?(?:一样|似的|一般)")
# Laughter typed as an emoji or a WeChat sticker code (the text's normal form keeps no emoji): read as 哈哈.
LAUGHS = re.compile(r"[😂🤣😆😄😁🤭😅😹]|\[(?:偷笑|破涕为笑|笑哭|呲牙|憨笑|坏笑|奸笑|捂嘴笑)\]")
# Another city, or another of Baoji's districts and counties, spoken of as where something is (西安那个, 陈仓区那边).
# Far from here: where someone away is (在外地, 在西安).
FAR_AWAY = r"外地|老家|西安|咸阳|北京|上海|广州|深圳|成都|重庆|兰州"
ANOTHER_PLACE = re.compile(r"(?:南方|北方|外省|国外)(?:那边|那|的)|"
                           # (not the sender away: 我在外地赶不回去, 我妈在家摔倒了)
                           rf"(?<![我额俺])在(?:{FAR_AWAY})|"
                           r"(?:西安|咸阳|渭南|汉中|延安|榆林|铜川|商洛|安康|杨凌|兰州|天水|北京|上海|广州|深圳|成都|重庆|郑州|"
                           r"武汉|南京|杭州|天津|长沙|太原|银川|西宁|高新|金台|陈仓|岐山|凤翔|眉县|扶风|千阳|陇县|麟游|凤县|太白)"
                           r"(?:区|县)?(?:那|那边|那个|有个|一个|的)")
# Where the person in trouble's kin are (她女儿在西安, 儿女都在外地) says why nobody is at hand, not where it happens.
KIN_AWAY = re.compile(r"(?:(?:她|他)(?:的|家)?(?:女儿|儿子|闺女|孩子|娃|子女|儿女|老伴|老公|媳妇|家里人|家人)|儿女|子女|孩子们)"
                      rf"(?:都|也)?(?:在|去了)(?:外省|国外|{FAR_AWAY})")
# Hypotheticals and past events are not emergencies: "着火了怎么办" in a safety notice, "上次电梯困人"; nor is one
# seen on a screen (抖音上看到, 电视剧里), one over with its outcome told (没大事, 出院了, 还好没伤着人), one at the
# sender's work, far from home or at a relative's or friend's (我们公司, 老家, 西安那个, 我表妹她们楼), a game's, one
# the sender took for one and was not (以为着火了 原来是), or one said laughing or as a figure of speech (满屋冒烟哈哈,
# 热得冒烟): nobody laughs through a fire they are reporting. Nor is a safety notice passed on (【燃气安全】, 转发：, 逃生
# 指南), one explained (冒烟的是二楼在熏腊肉, 结果是我家猫碰开了旋钮) or calmed (没事 大家嫑慌), or one years ago (那年).
_NOT_NOW = re.compile(r"着火了?怎么办|小心|当心|提示|提醒|科普|预防|防范|演练|演习|知识|宣传|培训|如果|万一|假如|要是(?!能)|"
                      r"怎么逃生|上次|去年|以前|开玩笑|这剧|剧里|剧情|女主|男主|"
                      r"已经救出|救上来了|救出来了|已经找到|找到了|没事了|人没事|扶起来了|新闻|后来(?:咋|怎)|"
                      r"已经灭了|扑灭了|(?:隔壁|对面|旁边|附近|别的|其他)(?:那个|那|的|这个)?小区|(?<![我额俺]在)外地|"
                      # a news report, a fire only feared or wondered about (你们就不怕着火吗, 真的会着火吗), a fire
                      # engine gone by to somewhere unknown or a fire asked after (在哪着火了), a compound over there (高新区那边一个小区着火了)
                      r"报道|(?:怕|会不会|会)(?:着火|起火)|不知道哪[里儿]?出事|在?哪[里儿边个]?(?:着火|起火)|那边的?(?:有)?一?个?小区|"
                      # a friend's compound (我朋友在高新那边的小区), the whole city's (全宝鸡好几个小区), a rumour
                      # found false, a warning lest someone fall (别让人踩上摔倒), last week's
                      r"(?:亲戚|朋友|同事|同学)[^，,。]{0,2}在[^，,。]{0,8}(?:小区|那边|楼)|全(?:宝鸡|市|城)|好几个小区|"
                      r"传言|是假的|(?:别|嫑|免得|以免)(?:让)?[^，,。]{0,6}(?:摔|滑倒|绊倒)|上周|上礼拜|上星期|"
                      # what happens every time it rains (每次下雨地下室都进水) is a standing fault, a video watched
                      # (你们看到视频没) is news
                      r"每次|每回|每逢|一下雨就|一到下雨|看视频|视频没|"
                      # a screen (电视上看到), a fire's what-if (一着火就麻烦), a fever (娃烧起来了, 退烧贴)
                      r"电视上|新闻里|视频里|一着火|一旦(?:着火|起火)|一起火|退烧|发烧|高烧|体温|"
                      # one over and told (120拉走了), a device against it (防走失手环)
                      r"(?:120|救护车)[^，,。]{0,3}拉走了|防走失|"
                      r"抖音|快手|电视剧|电影里|朋友圈|网上看|刷到|那回|那次|上个月|没大事|没大碍|没啥大事|出院了|"
                      r"(?:还好|幸好|幸亏|好在)(?:人)?没|"
                      r"(?:我|额|俺)们?(?:公司|单位)|老家|娘家|婆家|玩游戏|游戏里|"
                      r"(?:亲戚|朋友|同事|同学|闺蜜|表[姐妹哥弟]|堂[姐妹哥弟])(?:她|他)?们?(?:家|那|单位|小区|楼)|"
                      + ANOTHER_PLACE.pattern + "|" +
                      r"以为.{0,12}(?:原来|其实|结果|没想到是)|虚惊|(?<!是)不是(?:着火|起火|失火|火灾)|"
                      r"哈哈|呵呵|笑死|hhh|😂|🤣|"
                      r"的时候(?:千万|要|别|不要|记得|应该)|(?<!有)没事$|"
                      r"^(?:【|转发|转[:：]|\[转\])|请勿|逃生指南|安全须知|使用后|"
                      r"(?:冒烟|烟|味)的?是[^，,。！!]{0,6}(?:在|把|熏|烤|烧|炒|做饭|烟囱|腊肉)|"
                      r"结果是(?:我|额|俺|自己|家里|猫|狗|娃|孩子)|已经关了|没点着|"
                      # smoke found to be someone's trade or chores (原来是人家砖厂), a kitchen fire's tip (油锅着火千万别泼水)
                      r"原来是[^，,。！!]{0,6}(?:砖厂|工厂|厂子|烧烤|做饭|熏|烤|烟囱|锅炉|施工|烧纸|烧荒|秸秆|放炮)|"
                      r"着火(?:了)?(?:千万|可)?(?:别|不要|不能|嫑)(?:泼水|用水|浇水)|"
                      r"没事[^吧]{0,3}(?:大家)?(?:别|嫑|不要|甭)慌|那年|前两年|前几年|当年|前年|小时候|记得|"
                      # a rumour, a sound from a screen, one over (弄出来了, 幸亏扑得快), a season's warning, a
                      # relative's compound (我妈说她们小区)
                      r"谣言|传谣|电视里|的视频|视频看了|(?<!没)(?:弄|救|放|抬|接)出来了|人出来了|"
                      r"(?:幸亏|幸好|还好|好在)[^，,。]{0,3}(?:扑|灭|救|弄)|前几天|前些天|前阵子|容易(?:起火|着火)|"
                      # a near miss (差点着火), the time before (上回), what the internet says (网上说), someone since
                      # saved (后来被救了), a clip seen (看到那个视频) of somewhere unnamed (说是哪个城市)
                      r"差点儿?(?:着火|起火|烧起来|掉)|上回|网上(?:说|传|都在)|被救|救过来|看[到了过][^，,。]{0,4}视频|"
                      r"(?:哪个|某个|哪座)(?:城市|地方|省|县)|(?:那个|这个)视频|"
                      r"(?:她|他)们(?:小区|楼|那|家)|没再出|"
                      # one only feared (还以为着火了), or over and told (那天晕倒送医院了，现在好了)
                      r"以为[^。！!]{0,8}(?:着火|起火|失火|出事|困人|漏气|漏了|走丢)|那天|现在好了|已经好了|送医院了|"
                      # a dream, a lesson shown at home, a cause found (查清楚了 管道没问题), a worry calmed
                      r"做梦|梦见|梦到|梦里|安全教育|安全课|演示|讲了[^。！!]{0,10}(?:怎么办|咋办|咋弄)|"
                      r"查清楚了|查明了|(?:管道|管子|线路|电路)没问题|不是漏(?:气|了)|(?:别|嫑|不要|甭)担心|"
                      # a topic brought up (说到着火, 说着火我想起来), a message above asked about (刚才那个说地下室进水的)
                      r"(?:说到|说起|提到|提起|讲到)[^，,。！!]{0,3}(?:着火|起火|火灾|冒烟|煤气|燃气|天然气|电梯|困人|走丢|走失|"
                      r"漏气|触电|进水)|说[^，,。！!]{0,6}(?:我|额|俺)?想起来|(?:刚才|刚刚|上面|前面)那个说|"
                      # yesterday's asked about (昨晚有人喊救命是咋回事), whether it was seen to (电梯困人的事解决了没),
                      # its outcome told (没伤人, 消防来得快)
                      r"(?:昨晚|昨天|昨儿|前天)[^。！!]{0,16}(?:咋回事|怎么回事)|的事(?:情)?[^，,。！!]{0,2}(?:解决|处理)了(?:没|吗)|"
                      r"没伤(?:人|着人|到人|着)|没(?:有)?人受伤|无人(?:受伤|伤亡)|消防来得快|"
                      # a driver's passenger, on the bus and not at home (车上有个乘客晕倒了)
                      r"乘客|"
                      # a fire's paperwork or cover (火灾证明, 火灾险), a fire threatened in an argument (着火了你就知道),
                      # one put out (火灭了) or its cause told (说是电褥子起火), the fire found elsewhere (还好是别的单元)
                      r"火灾(?:证明|保险|险|隐患|报警器|认定)|(?:着火|起火|失火)了?(?:你|您|大家|他|她)?(?:就|才)知道|"
                      r"火(?:已经|早就)?灭了|(?:说是|听说是|据说是|原因是)[^，,。！!]{0,12}(?:起火|着火|引起)|"
                      r"(?:还好|幸好|好在|幸亏)是(?:别的|隔壁|另一|其他|对面)|"
                      # asked whether it happened (车库进水了没？)
                      r"(?:进水|淹)了?(?:没有?|吗|么)(?:[？?，,\s]|$)|"
                      # a fault told as mended (修好了，风箱漏气换了块皮子), the worst fear named (老人走丢最怕了), how
                      # grave one would be (着火了可不是一块钱的事), one that never happened here (至少没关过人), a
                      # device's feature (摔倒了还能自动报警)
                      r"^(?:早就|早)?修好了|已经修好|(?:最|就)怕[^，,。！!]{0,4}(?:着火|起火|走丢|走失|困人|漏气|摔)|"
                      r"(?:着火|起火|走丢|走失|困人|漏气|摔倒)了?(?:最怕|最可怕|最吓人)|"
                      r"可不是(?:闹着玩|小事|开玩笑|[^，,。！!]{0,6}的事)|没(?:有)?(?:关|困|卡|夹|伤)过人|"
                      r"从(?:来)?没(?:有)?(?:出过|着过|起过|发生过)|(?:能|会|可以)自动(?:报警|呼救|求救|打电话)|"
                      r"一键(?:呼救|报警|求救)|"
                      # advice asked or given (着火了咋办, 说个常识), a hazard compared (比着火强), a product's
                      # (会冒烟吗), one contained or seen to (已经控制住了, 已经处理好了), at kin's work or a former one
                      # (我女子单位, 前单位), a lift that once held someone (电梯困过人), what it usually is (饭店着火多半是
                      # 油锅), oil heated for cooking, a heating started (地暖烧起来了)
                      r"(?:着火|起火)了?(?:咋办|咋弄|怎么弄)|常识|"
                      r"比(?:着火|起火|失火)|(?:会不会|会|还会)冒烟|控制住了|处理好了|"
                      r"(?:前|原|以前的?)单位|(?:女儿|儿子|闺女|女子|老公|媳妇|老伴)(?:的|们)?(?:公司|单位|学校)|"
                      r"(?:困|关|卡|夹)过人|(?:多半|大多|一般|通常)都?是|"
                      r"油[^，,。！!]{0,2}(?:烧|热)到?[^，,。！!]{0,2}冒烟|(?:地暖|暖气|壁挂炉|锅炉|炉子)[^，,。！!]{0,4}烧起来")
# Someone down or not breathing, said with a habit or a lasting condition, is an emergency all the same.
SOMEONE_DOWN = "摔|跌|晕|昏|倒在|没呼吸|没有呼吸|抽搐"
# A blink, in which someone watched was gone (一转眼就不见了).
BLINK = "一转眼|一眨眼|转眼|一扭头|一回头"


def fell_into(who: str, direction: str, places: str) -> str:
    """A pattern for someone (`who`) fallen into one of `places`: the one who fell, not something of theirs dropped
    (娃把球掉坑里了, 有人掉了钥匙在井盖缝里, 娃的手机掉洞里了): no 把, 了 or 的 between them and 掉, and 了 only after
    its `direction` (掉进了)."""
    return f"({who})[^，,。把了的]{{0,6}}掉(?:{direction})?[^，,。了]{{0,4}}({places})"


EMERGENCIES = (
    Emergency("trapped_in_lift", "电梯困人", "lift",
              re.compile(r"电梯里?有人[^。]{0,10}(打不开|出不来|在里[头面边]喊|喊救命)|"
                         r"电梯.{0,12}(困|关)(了|住|着)?.{0,4}(人|孩子|老人|小孩)|(困|关)在电梯|电梯.{0,8}(被困|出不来)"
                         r"|被(困|关)(在|到)?电梯|困(在|到)?电梯(里|内|中)|"
                         # stuck between floors with someone inside (卡在二楼和三楼中间了 老太太一个人在里面)
                         r"电梯[^。]{0,10}(卡|停|坏)[^。]{0,16}(?<!师傅)(?<!工人)(?<!维修的)在里[面头边](?!修|检查|干活)")),
    Emergency("fire", "火情", "fire",  # 打不着火 is a stove that will not light
              re.compile(r"(?<![不没])着火|起火|失火|火灾|烧起来|冒烟|冒黑烟|浓烟|烟很大|火苗")),
    Emergency("gas_smell", "燃气泄漏", "gas",
              # a gas smelt or heard hissing near the gas pipe or meter (天然气管子那块嘶嘶响, 燃气表…滋滋声), unless it is gone (没味了)
              re.compile(r"(煤气|燃气|天然气|液化气)(味|泄漏|漏了|漏气)|漏气|有股.{0,4}气味"
                         r"|(煤气|燃气|天然气|液化气)[^，,。!！?？]{0,8}((?<!没)(?<!没有)味|嘶嘶)"
                         r"|(煤气|燃气|天然气|液化气)[^，,。!！?？]{0,16}(嘶嘶|滋滋|呲呲|丝丝)"),
              # 漏气 of a tyre, an inflatable or a ball, with no smell spoken of, is no gas leak; nor is a leak only wondered
              # about (会不会漏气啊) with no smell or hiss
              re.compile(r"^(?!.*味).*(?:轮胎|车胎|胎|泳池|充气|气垫|气球|皮球|篮球|足球|游泳圈|气门|打气|气囊)|"
                         r"^(?!.*(?:味|嘶嘶|滋滋|呲呲|丝丝)).*(?:会|怕|担心)(?:漏气|泄漏)")),
    Emergency("person_missing", "人员走失", "police",
              # the person is the one missing, not their things (我妈的手机不见了); 没回来 only when it has lasted
              re.compile(r"(老人|老爷子|老太太|老汉|孩子|娃|小孩|儿子|女儿|孙子|孙女|外孙|爷爷|奶奶|外婆|姥姥|妈|爸)"
                         r"[^的，,。]{0,8}"
                         r"(走丢|走失|跑丢|不见了|找不到了|联系不上|找不到人)|(老人|孩子|娃|小孩|(?<!有)人)丢了(?![一个把串只条台部副])|"
                         # gone in a blink (孙子在院子里玩，一转眼就不见了)
                         rf"(老人|老爷子|老太太|孩子|娃|小孩|儿子|女儿|孙子|孙女|外孙)[^。]{{0,20}}({BLINK})[^。]{{0,3}}不见了|"
                         # a child's 人没了 is gone from sight; an old person's is as often a death told in grief
                         rf"(孩子|娃|小孩|儿子|女儿|孙子|孙女|外孙)[^。]{{0,20}}({BLINK})[^。]{{0,3}}人没了|"
                         # asked after by sight (谁看见一个五六岁的男娃…就不见了, 有没有人看见一个老太太…家里人找疯了,
                         # 谁看见我家小宇了…到现在没回来)
                         r"(谁|有人)(看见|看到|见)[^。]{0,12}(老人|老太太|老爷子|老汉|娃|孩子|小孩|男孩|女孩|"
                         # one of the sender's own by name, told as a person is (十岁, 穿蓝色短袖, 电话也打不通)
                         r"(?:我|额|俺)家(?!的)(?=[^。]{0,60}(?:岁|穿着?|电话|手机|同学|学校|放学|上学)))[^。]{0,40}"
                         r"(不见了|没回来|走丢|找不到|找疯|到处找|都在找|急疯|找了半[天个晌]|找了[一两几好]?个?(钟头|小时))|"
                         r"(老人|老爷子|老太太|老汉|老头|老伴|老娘|老爹|老母亲|老父亲|孩子|娃|小孩|儿子|女儿|爷爷|奶奶|外公|"
                         r"姥爷|妈|爸|媳妇|老婆|妻子|丈夫|老公|婆婆|公公|岳母|岳父|丈母娘|老丈人).{0,30}"
                         r"(到现在|一夜|一晚上|一整天|半天|天黑了?).{0,4}(没回来|没回家)|"
                         r"(孩子|娃|小孩|儿子|女儿|闺女).{0,6}放学.{0,4}(没回来|没回家|没到家)")),
    Emergency("person_down", "有人摔倒或昏迷", "ambulance",
              re.compile(r"摔倒|跌倒|晕倒|昏倒|晕过去|昏过去|昏迷|不省人事|叫不醒|没有呼吸|没呼吸|抽搐|心脏病发|中风了|"
                         r"(摔|跌|倒).{0,6}起不来|"
                         # someone lying out in the cold or the road, not right (有醉汉躺在门口 冻了一晚上 看着不太对)
                         r"(躺在|倒在|趴在)[^。]{0,10}(一动不动|不动了|不太对|不对劲|没反应|叫不应|冻了一晚上)|"
                         r"叫[^，,。]{0,3}不太?应|嘴唇发紫|(?<!头)晕在|(?:敲|拍|喊|摇|推)(?:都|也|了半天)?不醒"),
              # a sleeper hard to wake every day (平时叫都叫不醒), or a stroke told as a lasting condition (中风了 离不开轮椅,
              # 中风瘫了好几年), with nobody down and nothing sudden
              re.compile(rf"^(?!.*(?:{SOMEONE_DOWN})).*(?:(?:平时|平常|每天|天天)[^。，,]{{0,6}}(?:叫|敲|喊|拍|摇)不醒|"
                         r"赖床|懒觉|起床|睡得(?:太|真)?死)|"
                         rf"^(?!.*(?:{SOMEONE_DOWN}|叫不|不省人事|嘴唇发紫|起不来|突然|刚刚?|刚才|"
                         r"快来|快叫|救命|赶紧|赶快|120|急救)).*(?:中风|脑梗|偏瘫).*(?:轮椅|瘫[了痪在]|卧床|半身不遂|后遗症|"
                         r"[几好两三四五]年|多年|常年|一直|康复|拐杖|行动不便|下不了楼|出不了门)")),
    Emergency("no_response", "独居老人无应答", "police",  # the police open the door; an ambulance follows
              # not seen for days and not answering the door or the phone (两天没出门了，敲门不应)
              re.compile(r"(两|三|几|好几|一)天(都)?没(出门|出来|见人|露面|下楼|见着|开门|开过门)[^。]{0,16}"
                         r"(敲门|叫门|打电话|电话|喊)[^。，,]{0,4}(不应|没人应|没人开|没反应|不接|没人接|没动静)|"
                         r"(独居|一个人住)[^。]{0,16}(敲门|叫门)[^。，,]{0,3}(不应|没人应|没反应)")),
    Emergency("electric_shock", "触电", "ambulance",
              re.compile(r"触电|被电(了|到|击|得)|电到人")),
    Emergency("person_in_water", "有人落水", "fire",  # 119 does water rescue; a phone dropped in the water is no one
              re.compile(r"(?<!防)溺水|落水|"
                         + fell_into("人|娃|孩子|小孩|老人|老汉|老太太", "(?:进|到|在)了?", "水池|水塘|池子|河|湖|井|水里|水坑"))),
    Emergency("fallen_into_pit", "有人掉进深坑或井", "fire",  # 119 does rescue from pits and wells
              # someone down a pit, a well, a ditch or a manhole
              re.compile(fell_into("人|娃|孩子|小孩|小娃|老人|老汉|老太太", "(?:进|到|在|下)去?了?", "坑|井|沟|洞|窖|下水道")
                         + "|"
                         r"(坑|井|沟|洞|窖|下水道)[^，,。]{0,4}掉(进去|下去|进|下)(个|一个)?(人|娃|孩子|小孩|小娃|老人)")),
    Emergency("levee_danger", "堤坝险情", "fire",  # flood-control crews come with the fire service's call
              # water boiling up at a levee's foot (堤脚在冒水…往外翻沙子), a levee breached or slumping; not one rumoured (说决堤的)
              re.compile(r"(?<![说传])(?:管涌|决堤|溃堤|溃坝)|(河堤|大堤|堤坝|堤脚|堤上|堤下|堤坡)[^，,。]{0,10}(冒水|渗水|翻沙|垮了|塌了|决口|裂了|裂口)")),
    Emergency("locked_in_car", "儿童被锁车内", "police",
              re.compile(r"(车|suv|越野|轿车)(里|内|上)[^，,。]{0,6}(锁|关)(了|着)?[^，,。]{0,2}(小孩|孩子|娃|宝宝)"
                         r"|(小孩|孩子|娃|宝宝)[^，,。]{0,4}(锁|关)在车(里|内|上)")),
    # a small child locked in at home with no way out (娃被锁在屋里了…钥匙丢了), not one kept in to do homework
    Emergency("locked_in_home", "儿童被反锁在家", "police",
              re.compile(r"(小孩|孩子|娃|宝宝|小娃)[^，,。]{0,4}(被)?(反锁|锁)在(屋|家|房间|房子|卫生间|厕所|阳台)"
                         r"[^。]{0,24}(钥匙|出不来|打不开|开不了|开不开|一个人|哭|电暖气|煤气|火)")),
    Emergency("armed_fight", "有人持械斗殴", "police",
              # a knife, or a bottle, a brick or a club swung in a fight (拿酒瓶子抡呢)
              re.compile(r"动刀子?了?|持刀|拿着?刀|掏出?刀|砍人|捅人|(打架|斗殴|打起来)[^。]{0,12}(刀|流血|血|酒瓶|砖头|棍子|棒子|铁棍|铁锹)|"
                         r"刀[^。]{0,8}打起来|拿着?(?:酒瓶子?|砖头|棍子|棒子|铁棍|铁锹)[^，,。]{0,3}(?:抡|砸人|打人)")),
    Emergency("cry_for_help", "有人呼救", "police",
              # the police asked for now (快报警, 谁报个警)
              re.compile(r"喊救命|呼救|喊人救|(?:快|赶紧|赶快)(?:报警|打110)|谁(?:来|帮忙)?(?:报个警|报一下警|打个110|打一下110)")),
    Emergency("electrical_fire", "电线电箱冒火", "fire",
              re.compile(r"(电线|线|电箱|配电箱|电表箱|变压器|配电室|插座|插头)[^，,。！!]{0,12}"
                         r"(冒火星|冒火花|打火花|火花|冒火|烧黑|烧焦|焦味|糊味)")),
    Emergency("person_at_risk", "有人要轻生", "police",
              re.compile(r"(楼顶|天台|顶楼|窗台|楼边)[^，,。]{0,10}(不对劲|要跳|想跳|快来人)|要跳楼|闹跳楼|(想|要)轻生|"
                         # someone sitting out on the roof's edge and not coming down (天台边上坐着个娃 哭着不下来)
                         r"(楼顶|天台|顶楼|窗台)[^。]{0,6}(坐着|站着)[^。]{0,12}(不下来|哭着|快来人)")),
    Emergency("climbing_out", "有人攀爬窗台阳台", "fire",  # 119 does rescue at height
              # a child climbing out of a window or over a balcony rail (娃在窗台上往外爬)
              re.compile(r"(窗台|窗户|窗子|阳台|护栏)[^，,。]{0,4}(往外爬|爬出去|翻出去|往外翻|探出身)|"
                         # or out on the ledge or an air conditioner's bracket (站在六楼窗台外面)
                         r"(小孩|孩子|娃|小娃|宝宝)[^。]{0,12}(窗台|窗户|窗子|阳台|空调外机|外机)(外面|外头|外边|架子上)")),
    Emergency("water_danger", "有人在冰面或河滩遇险", "fire",  # 119 does water and ice rescue
              # a child alone on the ice, people caught on the bank by a rising river
              re.compile(r"(小孩|孩子|娃|小娃)[^，,。]{0,8}(冰上|冰面上)[^，,。]{0,2}(玩|走|跑|滑)|"
                         r"(河水|水)[^，,。]{0,4}涨上来[^。]{0,16}(还有|有)[^。]{0,4}人")),
    Emergency("home_flooding", "家中进水", "fire",
              re.compile(r"(家里|屋里|屋子|房子|室内|一楼)[^。没不未]{0,6}(进水|淹了|被淹|水漫)|水漫金山|水淹"),
              # a field or a plot flooded is no home (河滩边的菜地被水淹了一半)
              re.compile(r"(菜地|地里|庄稼|田里|菜园|果园|麦地|苗)[^。]{0,12}水淹")),
    Emergency("garage_flooding", "地库进水", "fire",
              re.compile(r"(地库|车库|地下室|地下车库)[^。没不未]{0,6}(进水|淹了|被淹|水漫|漫水|倒灌)|水[^。]{0,6}漫到[^。]{0,4}(轮胎|车|膝盖)|"
                         r"(轮胎|车轮)[^。]{0,4}泡在水里")),
    Emergency("person_injured", "有人受伤出血", "ambulance",
              re.compile(r"(咬|撞|砸|割|划|扎)[^。]{0,10}(出血了|流血了|流了[^，,。]{0,3}血|血止不住|血流不止|一直流血|"
                         r"满[脸身头手]是血)|血止不住|(出血|流血)[^。]{0,6}快来人|有人(喊)?受伤了|"
                         # a snake's bite is venom until a doctor says otherwise (被蛇咬了 脚肿了)
                         r"(?:被|叫|让)[^，,。]{0,2}蛇[^，,。]{0,2}咬")),
)
NUMBER_LABELS = {"police": "报警", "fire": "火警", "ambulance": "急救", "gas": "燃气抢修", "lift": "电梯应急救援"}


# Words an emergency or a booking is told in, as a voice recogniser or hurried pinyin typing may write them by their
# sound (电题 for 电梯, 燃起 for 燃气, 预越 for 预约). 摔到 is left alone: it is how a phone falls too.
SOUNDED = ("电梯", "燃气", "煤气", "天然气", "液化气", "着火", "起火", "失火", "冒烟", "浓烟", "走丢", "走失", "晕倒",
           "昏倒", "昏迷", "触电", "落水", "溺水", "救命", "呼救", "被困", "困住", "预约")
_SOUNDED_BY_CHAR: dict[str, list[tuple[str, int]]] = {}
for _word in SOUNDED:
    for _place, _char in enumerate(_word):
        _SOUNDED_BY_CHAR.setdefault(_char, []).append((_word, _place))


# The commonest characters of grammar, and characters as common in words of their own (出电费 is paying for power,
# not 触电; 看着或者 is no 着火; 泥水 is mud, not 溺水): typed as themselves far oftener than for a word that sounds
# like them.
GRAMMAR_CHARS = frozenset("是的了在有就也都和不我你他她这那个出或泥")
# Words of their own that sound like an emergency's (走势 and 走时 like 走失, 似火 like 失火, 触点 like 触电, 逆水 like
# 溺水, 燃起 like 燃气): the commonest such words of jieba's dictionary, typed as meant, never re-read by their sound.
TYPED_AS_MEANT = frozenset(("走势", "走时", "走石", "燃起", "洛水", "逆水", "落谁", "石火", "似火", "浓艳", "触点", "霉气",
                            "美气", "互救", "起伙", "起获", "起货", "捆住"))


def sounded_out(norm: str) -> str:
    """The text with the emergency and booking words it types by their sound written right: a window as long as the
    word, each character right or read alike by its main reading, at least half of them right, none of the wrong
    ones a word of grammar (西安是火炉 is no 失火: 是 is far likelier meant than mistyped), the window no word of its own
    (TYPED_AS_MEANT)."""
    for at, char in enumerate(norm):
        for word, place in _SOUNDED_BY_CHAR.get(char, ()):
            start = at - place
            window = norm[start:start + len(word)]
            if (start >= 0 and len(window) == len(word) and window != word and window not in TYPED_AS_MEANT
                    and sum(a == b for a, b in zip(window, word, strict=True)) * 2 >= len(word)
                    and all(a == b or char_readings(a)[:1] == char_readings(b)[:1] != () and a not in GRAMMAR_CHARS
                            for a, b in zip(window, word, strict=True))):
                norm = norm[:start] + word + norm[start + len(word):]
    return norm


def plain_text(text: str) -> str:
    """The text as the readings of emergencies and group offers take it: normalised, laughter typed as an emoji or a
    sticker code read as 哈哈 (the normal form keeps no emoji)."""
    return normalize(LAUGHS.sub("哈哈", text))


def emergency_in(text: str) -> Emergency | None:
    """The emergency a message describes as happening now, if any."""
    return emergency_in_plain(plain_text(text))


def emergency_in_plain(plain: str) -> Emergency | None:
    """emergency_in of a text already made plain (plain_text)."""
    norm = KIN_AWAY.sub(" ", FIRE_LIKENESS.sub(" ", sounded_out(plain)))
    if _NOT_NOW.search(norm) or FIGURATIVE.search(norm):
        return None
    emergency = next((e for e in EMERGENCIES if e.pattern.search(norm)), None)
    return None if emergency is None or emergency.unless is not None and emergency.unless.search(norm) else emergency


def advice(emergency: Emergency, numbers: dict[str, str]) -> str:
    """What the resident must do at once: the number to call (the caller says what the bot has done)."""
    number = numbers.get(emergency.number) or numbers.get("police", "110")
    first = f"【紧急】{emergency.label}：请立即拨打{NUMBER_LABELS[emergency.number]}电话 {number}"
    if emergency.number != "ambulance" and emergency.code in {"person_down", "electric_shock"}:
        first += f"，有人受伤请拨 {numbers.get('ambulance', '120')}"
    if emergency.code == "electric_shock":
        first += "，先断开电源，不要直接用手拉人"
    if emergency.code == "gas_smell":
        first += "，开窗通风，不要开关电器、不要动火"
    return first + "。"
