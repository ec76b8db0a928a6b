"""Issue 11: emergencies get the right number at once, the grid worker and the secretary hear of them at the same
moment, and their SLA runs in minutes round the clock."""

from datetime import timedelta

import pytest

from models import CaseStatus
from tests.harness import Harness

GROUP = "JT-TTC-01"  # 铁塔厂家属院: grid worker W001 李娟, community secretary S001 高建华


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def heard_as(bot: Harness, text: str, code: str, number: str | None = None) -> None:
    """An emergency said to the bot in the group: the warning (with the number to ring) and a case of its kind."""
    answer = await bot.resident("老张", text, group=GROUP, mention=True)
    assert "【紧急】" in answer and (number is None or number in answer), answer
    assert (await bot.latest_case()).extras["emergency"] == code


async def not_heard_as_emergency(bot: Harness, texts: list[str]) -> None:
    """Lines said in the group (no mention) that get no emergency warning."""
    for text in texts:
        answer = await bot.resident("老李", text, group=GROUP)
        assert "【紧急】" not in answer, text


async def test_people_trapped_in_a_lift_get_the_number_and_everyone_hears_at_once(bot):
    bot.clock.advance(hours=14)  # 23:00 local: outside working hours
    answer = await bot.resident("老张", "2号楼电梯卡住了，里面关着个小孩，快来人", group=GROUP, mention=True)
    assert "96333" in answer and "已受理" in answer and "分钟内响应" in answer
    case = await bot.latest_case()
    assert case.priority > 0 and case.extras["emergency"] == "trapped_in_lift"
    assert case.accept_due_at - case.created_at == timedelta(minutes=10)
    told = {row.recipient for row in await bot.outbox() if "【紧急】" in row.text or row.recipient ==
            f"staff:{case.assignee.code}"}
    assert {"staff:W001", "staff:S001"} <= told
    answer = await bot.staff("W001" if case.assignee.code == "W001" else case.assignee.code, f"退回 {case.id}")
    assert (await bot.case(case.id)).status is not CaseStatus.RETURNED  # never without a reason


@pytest.mark.parametrize("text", ["有人被困电梯里了 3号楼 快来", "3号楼有人困电梯里半个钟头了"])
async def test_trapped_in_a_lift_said_without_its_particle_is_an_emergency(bot, text):
    answer = await bot.resident("老张", text, group=GROUP, mention=True)
    assert "96333" in answer and "已受理" in answer
    assert (await bot.latest_case()).extras["emergency"] == "trapped_in_lift"


async def test_someone_missing_is_an_emergency_not_an_eight_hour_matter(bot):
    answer = await bot.resident("王阿姨", "#随手拍 秦机小区5号楼 家里老人早上出门到现在都找不到了")
    assert "110" in answer and "已受理" in answer
    case = await bot.latest_case()
    assert case.accept_due_at - case.created_at == timedelta(minutes=10)


async def test_an_emergency_overheard_in_a_group_gets_the_number_with_the_offer(bot):
    answer = await bot.resident("老张", "楼道里一股煤气味，呛得很，打13912345678没人接", group=GROUP)
    assert "119" in answer and "登记" in answer and "已同时通知网格员和社区书记" in answer
    # What the bot said it did, it did: the place's staff hear now, before anyone taps 登记 (phones masked).
    alerts = [row for row in await bot.outbox() if row.text.startswith("【紧急】燃气泄漏")]
    assert {row.recipient for row in alerts} == {"staff:W001", "staff:S001"}
    assert all("煤气味" in row.text and "139****5678" in row.text and "13912345678" not in row.text for row in alerts)
    assert await bot.cases() == []
    # Said again within the offer window, it is answered again (a plain report would not get a second offer).
    assert "119" in await bot.resident("老张", "煤气味越来越大了，快来人", group=GROUP)
    assert await bot.resident("老张", "楼下下水道堵了，污水都漫到路上了，谁管管", group=GROUP) == ""


async def test_an_emergency_with_no_place_yet_promises_staff_only_once_placed(bot):
    answer = await bot.resident("新来的", "家里老人早上出门到现在都找不到了")
    assert "110" in answer and "说出地点后，我们立即通知" in answer and "已同时通知" not in answer
    assert not [row for row in await bot.outbox() if row.recipient.startswith("staff:")]
    answer = await bot.resident("新来的", "秦机小区5号楼")
    assert "已受理" in answer and "已同时通知网格员和社区书记" in answer
    assert {row.recipient for row in await bot.outbox() if "【紧急】" in row.text}


async def test_emergency_numbers_are_configured_per_district(database_url):
    bot = await Harness.start(database_url, emergency_numbers="gas:0917-3210000,lift:0917-96333")
    try:
        answer = await bot.resident("王阿姨", "秦机小区5号楼楼道里有股天然气味，好像漏气了")
        assert "0917-3210000" in answer
    finally:
        await bot.close()


async def test_hypotheticals_and_safety_notices_are_not_emergencies(bot):
    assert await bot.resident("物业", "转：消防知识，遇到火灾怎么逃生", group=GROUP) == ""
    answer = await bot.resident("小王", "#随手拍 秦机小区5号楼有人飞线充电，着火了怎么办")
    assert "119" not in answer and "请确认" in answer


async def test_one_seen_on_a_screen_over_with_its_outcome_told_or_at_the_senders_work_is_not_an_emergency(bot):
    for text in ["快手上刷到一个视频，有人被关在电梯里三个钟头",  # on a screen
                 "我爸前天在公园晕倒了，住了两天院，没大碍",  # over, the outcome told
                 "我们单位食堂着火了，今天都放假了",  # at the sender's work
                 "防火的时候要记得先关总闸，着火了别坐电梯"]:  # advice
        assert await bot.resident("老李", text, group=GROUP) == "", text
    assert "119" in await bot.resident("老李", "5号楼三单元着火了，楼道里全是烟", group=GROUP)


async def test_one_taken_for_one_at_a_friends_far_away_said_laughing_or_a_leaky_toy_is_not_an_emergency(bot):
    for text in ["刚才还以为谁家着火了，原来是楼下在烧纸",  # taken for one, and was not
                 "咸阳那个小区昨晚电梯困了人，看着都吓人",  # another city's
                 "我同学她们楼前天起火，还好没伤着人",  # a friend's building, over
                 "今天做饭把锅烧干了 满屋冒烟哈哈哈",  # said laughing
                 "这天热得我嗓子都冒烟了",  # a figure of speech
                 "出个漏气的充气床垫，补一下还能用"]:  # 漏气 of a toy, not of gas
        answer = await bot.resident("老李", text, group=GROUP)
        assert "【紧急】" not in answer and "119" not in answer and "96333" not in answer, text
    assert not [row for row in await bot.outbox() if "【紧急】" in row.text]
    assert "119" in await bot.resident("老李", "5号楼三单元着火了，楼道里全是烟", group=GROUP)


@pytest.mark.parametrize(("text", "number", "code"), [
    ("救命 有个小孩掉进小区的水池里了 快来人", "119", "person_in_water"),
    ("8号楼天台边上坐了个人 看着不对劲 快来人", "110", "person_at_risk"),
    ("3号楼一单元天然气管子那块嘶嘶响 有股味", "119", "gas_smell"),
])
async def test_someone_in_the_water_about_to_jump_or_a_hissing_gas_pipe_is_an_emergency(bot, text, number, code):
    answer = await bot.resident("老张", text, group=GROUP, mention=True)
    assert number in answer and "【紧急】" in answer and "已受理" in answer, answer
    case = await bot.latest_case()
    assert case.extras["emergency"] == code
    assert case.accept_due_at - case.created_at == timedelta(minutes=10)


async def test_gas_that_is_no_longer_smelt_is_not_an_emergency(bot):
    answer = await bot.resident("老张", "燃气公司的师傅来看过了，现在没味了，谢谢大家", group=GROUP)
    assert "【紧急】" not in answer and "119" not in answer


@pytest.mark.parametrize(("text", "number", "code"), [
    ("东门停车场一辆黑车里锁了个小孩 一直在哭 车主在哪", "110", "locked_in_car"),
    ("隔壁屋里老人一直喊救命 敲门也不开 6号楼301", "110", "cry_for_help"),
    ("小区门口两个人打架 有一个拿着刀 快来人", "110", "armed_fight"),
    ("3号楼配电箱一直冒火花 噼里啪啦响", "119", "electrical_fire"),
])
async def test_a_child_locked_in_a_car_a_cry_for_help_a_knife_fight_or_a_sparking_box_is_an_emergency(
        bot, text, number, code):
    await heard_as(bot, text, code, number)


async def test_a_joke_a_drama_a_fire_in_another_district_or_a_rescue_already_made_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, [
        "楼下烧烤店着火了，开玩笑的，是生意太火",
        "这剧里男主家着火那一集看得我难受",
        "金台那边的商场昨晚着火了，烧了好几个铺子",
        "河边有个钓鱼的掉下去了，已经被人救上来了",
    ])


async def test_a_notice_passed_on_a_smoke_or_smell_explained_or_one_years_ago_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, [
        "【冬季防火】发现火情请立即拨打119 请勿乘坐电梯",  # a notice passed on
        "转发：电梯困人时请保持冷静 按警铃等待救援",
        "那边冒烟的是烧烤摊在烤肉 没事",  # a smoke explained
        "闻到一股燃气味 结果是我家灶没关严 已经关了",  # a smell explained, over
        "那年三号楼着火 烧了半边楼",  # years ago
        "刚才楼下冒烟 没事 大家别慌",  # calmed
    ])


@pytest.mark.parametrize(("text", "number", "code"), [
    ("电题里有人 喊半天了 门打不开 7号楼", "96333", "trapped_in_lift"),  # the lift typed by its sound
    ("然气味很大 四单元一楼", "gas", "gas_smell"),  # gas typed by its sound
    ("我家老头下午出去遛弯到现在没回来 有点糊涂", "110", "person_missing"),
    ("我家娃放学没回来 都一个钟头了", "110", "person_missing"),
    ("楼道电表箱那块有烧焦味 线都黑了", "119", "electrical_fire"),
])
async def test_a_lift_or_gas_typed_by_sound_an_old_man_or_child_not_back_or_a_scorched_box_is_an_emergency(
        bot, text, number, code):
    await heard_as(bot, text, code, None if number == "gas" else number)


@pytest.mark.parametrize(("text", "number", "code"), [
    ("有个老人躺在路边一动不动 喊也不应", "120", "person_down"),  # someone lying out, not right
    ("有个娃在河边冰上跑 大人不在", "119", "water_danger"),  # a child alone on the ice
    ("小区门口黑色越野里锁了个宝宝 一直哭", "110", "locked_in_car"),
    ("我家老爹早上出去到现在没回来", "110", "person_missing"),
])
async def test_someone_lying_out_a_child_on_the_ice_a_baby_in_any_car_or_a_father_not_back_is_an_emergency(
        bot, text, number, code):
    await heard_as(bot, text, code, number)


async def test_a_snake_bite_is_an_emergency_for_the_ambulance(bot):
    await heard_as(bot, "我爸在后院菜地叫蛇咬了一口 手背肿起来了", "person_injured", "120")


@pytest.mark.parametrize(("text", "code"), [
    ("电体里困着个老人 出不来了 3号楼", "trapped_in_lift"),  # 电体 read as 电梯
    ("煤起味好大 五单元楼道", "gas_smell"),  # 煤起 read as 煤气
    ("二楼着伙了 快来人", "fire"),  # 着伙 read as 着火
])
async def test_an_emergency_typed_by_its_sound_is_heard(bot, text, code):
    await heard_as(bot, text, code)


@pytest.mark.parametrize(("text", "code"), [
    ("楼下烧烤摊有人拿刀了 打起来了", "armed_fight"),
    ("快报警 停车场有人在砸车", "cry_for_help"),
    ("饭馆门口两伙人打起来了 有人抄起砖头就上", "armed_fight"),  # a brick, not a knife
    ("东门外头有人拿棍子抡人 都见血了", "armed_fight"),
    ("楼下有个人在撬电动车锁 谁报个警", "cry_for_help"),  # the police asked for now
])
async def test_a_weapon_drawn_in_a_fight_or_a_call_to_ring_the_police_is_an_emergency(bot, text, code):
    await heard_as(bot, text, code, "110")


async def test_a_rumour_a_screens_cry_a_fire_put_out_or_a_season_warning_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, [
        "刚才喊救命的声音是电视里的 我下去看了",  # a screen's
        "群里说换电柜着火 我去看了 是个谣言",  # a rumour
        "对面小区着火的视频看了没 幸亏扑得快",  # over
        "天干物燥 这个季节容易起火 大家记得拔插头",  # a season's warning
        "冒烟了冒烟了 我炒个鸡蛋都能糊😂",  # one's own cooking, laughing
    ])


@pytest.mark.parametrize(("text", "number", "code"), [
    ("地库进水了 B2的水已经漫到轮胎了", "119", "garage_flooding"),
    ("一只大狗把小孩咬了 腿上流血了 快来人", "120", "person_injured"),
])
async def test_a_flooded_garage_or_a_bleeding_bite_is_an_emergency(bot, text, number, code):
    await heard_as(bot, text, code, number)


async def test_a_fire_only_feared_or_a_faint_over_and_told_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, [
        "吓死了 还以为哪里着火了", "额家老汉那天晕倒送医院了 现在好了 谢谢邻居们",
        "楼下消防车呜呜地开过去了 哪儿着火了",  # a fire asked after, not seen
    ])


async def test_smoke_coming_out_of_a_window_is_a_fire_though_its_words_say_out(bot):
    await heard_as(bot, "3号楼着火了 浓烟从窗户冒出来了", "fire", "119")  # 出来了 of smoke is no one rescued


async def test_a_dream_a_lesson_shown_at_home_a_cause_found_or_a_heavy_sleeper_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, [
        "吓死 昨晚梦见楼里着火了 醒来一身汗",  # a dream
        "娃在学校上了安全课 回来给我演示被困电梯里要按警铃",  # a lesson
        "那股燃气味查清楚了 是隔壁饭馆排风扇吹过来的 大家别担心",  # a cause found, calmed
        "物业和燃气公司都来看了 管道没问题 不是漏气",
        "我家这个娃平时早上叫不醒 喊三遍才起",  # a heavy sleeper
        "刚才广场上有个老人摔倒了 路过的人已经扶起来了",  # helped up
        "电动车放屋里充电真的会着火吗",  # a fire wondered about
        "刚才两辆消防车开过去了 不知道哪里着火了",  # somewhere unknown
        "经开区那边一个小区着火了 烟大得很",  # a compound over there
        "早上广场上有个大爷晕倒了 后来120拉走了 说是中暑",  # over, taken to hospital
        "天冷了 老人容易走丢 大家给家里老人买个防走失手环",  # a device against it
    ])


async def test_a_friends_compound_the_whole_city_a_false_rumour_a_warning_or_last_weeks_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, [
        "我同学在经开区那边的小区 地下车库淹了好几辆车",  # a friend's compound
        "昨晚那场雨 全市好几个小区地库都进水了",  # the whole city's, news
        "说8号楼着火的传言是假的 是人家在楼下烧纸",  # a rumour found false
        "楼道口有块香蕉皮 别让老人踩上滑倒",  # a warning lest someone fall
        "上礼拜电梯困人那事 后来查出来是门机坏了",  # last week's
    ])
    await heard_as(bot, "地下车库进水了 水已经漫到车轮子了 快来人", "garage_flooding", "119")


async def test_someone_down_and_not_waking_is_still_an_emergency_whatever_their_habits(bot):
    await heard_as(bot, "额爸平时身体好好的 今天早上倒在地上叫不醒了 快来人", "person_down", "120")


async def test_a_child_climbing_out_of_a_window_is_an_emergency_and_a_cat_on_the_sill_is_not(bot):
    await heard_as(bot, "5号楼有个娃一个人在家 从窗户往外爬 快来人", "climbing_out", "119")
    await not_heard_as_emergency(bot, ["猫在窗台上晒太阳 一动不动的 可爱"])


@pytest.mark.parametrize(("text", "number", "code"), [
    ("3号楼有家窗户往外冒浓烟 是不是着火了", "119", "fire"),  # asked, not denied
    ("有个娃站在五楼空调外机架子上 大人不在", "119", "climbing_out"),
])
async def test_smoke_asked_about_or_a_child_out_on_a_bracket_is_an_emergency(bot, text, number, code):
    await heard_as(bot, text, code, number)


@pytest.mark.parametrize(("text", "number", "code"), [
    ("单元电梯停在半截了 有个小孩在里面 哭得厉害", "96333", "trapped_in_lift"),  # stuck, someone inside
    ("楼下有个娃叫狗咬了 腿上流了好多血", "120", "person_injured"),  # bleeding however it is said
    ("快递小哥让铁皮划了个大口子 血止不住", "120", "person_injured"),
    ("电梯卡在三楼了 我外婆在里面 按铃没人理", "96333", "trapped_in_lift"),  # whoever is inside
    ("谁看到一个穿黄衣服的小女孩 刚才在滑梯那玩 一转眼就不见了", "110", "person_missing"),  # asked after by sight
    ("对门独居的王大爷三天没下楼了 敲门没人应", "110", "no_response"),  # not seen for days, not answering
    ("锅炉房那边响了一声 有人喊受伤了 快来人", "120", "person_injured"),
])
async def test_someone_inside_a_stuck_lift_or_bleeding_from_a_bite_or_a_cut_is_an_emergency(bot, text, number, code):
    await heard_as(bot, text, code, number)


async def test_a_repairer_in_a_lift_a_cat_out_a_flood_every_rain_or_a_fire_on_video_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, ["电梯坏了 维修师傅在里面修呢", "我家猫早上出去到现在没回来",
                                       "每次下雨车库都进水 烦死了",  # a standing fault, not one under way
                                       "十里铺那边昨天着火了 你们看到视频没"])  # a video watched


async def test_a_fire_on_television_a_garage_not_flooded_a_childs_fever_or_a_fires_what_if_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, [
        "电视上说有个小区车库着火了 吓人",
        "今天下了一天雨 车库没进水 放心了",  # not flooded
        "娃烧起来了 谁家有退烧贴",  # a fever
        "楼道里堆这么多纸箱 一着火就完了",  # what if
    ])
    await heard_as(bot, "地下室进水了 水都漫到楼梯口了 快来人", "garage_flooding", "119")



async def test_a_near_miss_the_time_before_the_internets_news_or_a_clip_of_somewhere_unnamed_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, [
        "电动车充电器差点起火 幸亏拔得早",  # a near miss
        "上回煤气泄漏那事 物业后来换了阀门",  # the time before
        "网上说有个老人在公园晕倒了 后来被救了",  # the internet's, and over
        "刷了个视频 说是哪个城市高楼着火 太吓人了",  # somewhere unnamed
    ])
    await heard_as(bot, "楼道里电动车着火了 烟很大 快打119", "fire", "119")


@pytest.mark.parametrize("text", [
    "我外孙在楼下滑滑梯 一眨眼就不见了 穿蓝衣服 大家帮忙看看",  # gone in a blink, a grandchild
    "孙女刚才还在门口 一回头人就不见了 谁看见了",
    "有人看到一个老爷子没 戴灰帽子 往公园那边去了 家里人到处找",  # asked after by sight, the family searching
])
async def test_a_grandchild_gone_in_a_blink_or_an_old_man_searched_for_is_someone_missing(bot, text):
    await heard_as(bot, text, "person_missing", "110")


async def test_a_child_found_again_or_a_cat_searched_for_is_not_someone_missing(bot):
    await not_heard_as_emergency(bot, ["一转眼娃就不见了 找到了 在楼下玩呢", "谁看见我家橘猫了 家里人到处找"])


async def test_an_emergency_said_with_a_bookings_or_a_wishs_words_is_still_an_emergency(bot):
    await heard_as(bot, "老人走失了 想请大家帮忙留意", "person_missing", "110")  # 想请…帮忙 reads as a booking
    answer = await bot.resident("老王", "我外孙在楼下滑滑梯 一眨眼就不见了 大家帮忙看看")  # a private chat
    assert "【紧急】" in answer and "110" in answer, answer


async def test_a_likeness_a_screens_or_a_markets_heat_or_a_copula_typed_near_a_fire_is_not_an_emergency(bot):
    await not_heard_as_emergency(bot, [
        "晚上的云红得像着火了一样 快去看",  # a likeness
        "着火了着火了 我说的是我家的基金",  # explained away
        "这个综艺太火了 弹幕都着火了",  # a screen's heat
        "西安是火炉 宝鸡凉快多了",  # 是火 is no 失火 typed by its sound
    ])
    await heard_as(bot, "楼道里像着火了一样 浓烟滚滚 快来人", "fire", "119")  # the likeness read past, the smoke not


async def test_someone_down_at_home_while_the_sender_is_away_is_an_emergency_one_elsewhere_is_not(bot):
    await heard_as(bot, "我爸一个人在家晕倒了 我在外地 谁能先去看看 5号楼2单元", "person_down", "120")
    await not_heard_as_emergency(bot, ["外地有个小区着火了", "我在老家 听说村里有人晕倒了"])


@pytest.mark.parametrize(("text", "number", "code"), [
    ("我公公早上出去遛弯到现在没回来 有点糊涂 手机也没带", "110", "person_missing"),  # kin by marriage
    ("孩子被反锁在家里了 才两岁 一直在哭 钥匙在我身上", "110", "locked_in_home"),
    ("单元门口一个大爷晕过去了 快来人", "120", "person_down"),
])
async def test_an_in_law_not_back_a_child_locked_in_at_home_or_someone_passed_out_is_an_emergency(
        bot, text, number, code):
    await heard_as(bot, text, code, number)


async def test_a_child_kept_in_to_do_homework_is_not_locked_in(bot):
    await not_heard_as_emergency(bot, ["把娃关在房间里写作业 不写完不许出来"])


async def test_a_fire_at_the_compound_opposite_a_topic_brought_up_or_a_message_above_asked_about_is_not_an_emergency(
        bot):
    await not_heard_as_emergency(bot, [
        "听说旁边那个小区昨天着火了 真的假的",  # another compound
        "说到着火我想起来 楼道里那些纸箱子该清一清了",  # a topic brought up
        "刚刚那个说电梯困人的 是几号楼的",  # a message above asked about
    ])
    await heard_as(bot, "有人说5号楼着火了 浓烟很大", "fire", "119")
    await heard_as(bot, "楼下老人说起话来含糊 突然晕倒了", "person_down", "120")  # 说起 brings up no emergency's word


async def test_last_nights_cry_asked_about_a_rescue_asked_after_or_a_fire_with_its_outcome_told_is_not_an_emergency(
        bot):
    await not_heard_as_emergency(bot, [
        "昨晚楼下有人喊救命 是咋回事啊",  # yesterday's, asked about
        "5号楼电梯困人的事处理了吗",  # whether it was seen to
        "听说东边商场着火了 没伤人",  # its outcome told
        "刚才车上有个乘客晕倒了 我赶紧开到医院",  # a driver's passenger
    ])


async def test_a_flood_asked_about_or_a_field_under_water_is_not_an_emergency_and_a_home_under_water_is(bot):
    await not_heard_as_emergency(bot, [
        "地下室进水了没？我电动车放在里面",  # asked whether it happened
        "菜地边上那片玉米，今年被水淹了一半，可惜",  # a field, not a home
    ])
    await heard_as(bot, "家里进水了 水漫到脚脖子了", "home_flooding", "119")


@pytest.mark.parametrize(("text", "number", "code"), [
    ("谁看见我家乐乐了 八岁 穿红棉袄 下午出去玩到现在没回来 电话手表也打不通", "110", "person_missing"),  # by name
    ("工地那个坑里掉进去个娃 在下面哭 谁有绳子 快来", "119", "fallen_into_pit"),
    ("3号楼的王奶奶在家摔倒了 起不来 她儿子在西安 门还锁着", "120", "person_down"),  # where her son is
    ("河堤下面在往外冒水 还带着沙子 是不是管涌 快叫人", "119", "levee_danger"),
    ("楼道燃气管那儿一直在滋滋响 我也说不好 麻烦燃气公司来看看", None, "gas_smell"),  # a hiss at the gas
])
async def test_a_child_asked_after_by_name_down_a_pit_a_fall_with_kin_away_a_levee_or_a_gas_hiss_is_an_emergency(
        bot, text, number, code):
    await heard_as(bot, text, code, number)


async def test_a_thing_down_a_pit_a_cat_asked_after_a_levee_rumoured_or_a_fall_in_the_home_village_is_no_emergency(bot):
    await not_heard_as_emergency(bot, [
        "娃把球踢到坑里了 谁帮忙捡一下",  # a thing down the pit, not a person
        "有人掉了钥匙在井盖缝里 谁有磁铁",  # keys someone dropped
        "娃的手机掉洞里了 够不着",  # a child's phone
        "井盖掉下去了 人差点掉进去",  # a near miss (a report, not an emergency)
        "谁看见我家猫了 一早上没回来",  # a pet
        "那个说决堤的是谁发的 吓死人了",  # a rumour
        "我妈在老家摔倒了 我得请假回去",  # somewhere else
    ])


async def test_words_of_their_own_are_not_read_as_an_emergencys_by_their_sound(bot):
    await not_heard_as_emergency(bot, [
        "这个月的电费我出 出电费的事别吵了",  # 出电 is no 触电
        "老人得有人看着 或者给装个呼叫器",  # 着或 is no 着火
        "单元门口的地砖松了 一踩溅一裤腿泥水",  # 泥水 is no 溺水
        "我家娃那个电话手表走时老不准",  # words of their own: 走时 is no 走失,
        "今天太阳似火 晒死了",  # 似火 no 失火,
        "楼道灯的开关触点烧了 一按就闪",  # 触点 no 触电
    ])
    await heard_as(bot, "3号楼有人触店了 倒在配电箱旁边 快叫120", "electric_shock", "120")  # still typed by sound


async def test_smoke_found_to_be_a_brickworks_or_a_kitchen_fires_tip_is_no_emergency(bot):
    await not_heard_as_emergency(bot, ["早上看见西边冒烟 原来是人家烧烤店开炉子了", "记住啊 油锅着火千万别泼水 直接盖锅盖"])
    await heard_as(bot, "楼下冒烟了 原来是车库着火了 快打119", "fire", "119")  # found to be a fire after all


async def test_a_stroke_told_as_a_lasting_condition_is_no_emergency_and_one_happening_now_is(bot):
    await not_heard_as_emergency(bot, [
        "我老伴中风了 离不开轮椅 谁家有闲置的轮椅先借我们用一阵",  # a wish told with its reason
        "额爸中风瘫了好几年了 想申请个上门理发",
        "我家老汉中风后遗症 下不了楼 想预约上门办社保认证",
    ])
    await heard_as(bot, "我老伴突然中风了 嘴歪了说不出话 快来人", "person_down", "120")


async def test_a_fires_paperwork_a_fire_threatened_in_argument_or_one_put_out_is_no_emergency(bot):
    await not_heard_as_emergency(bot, [
        "火灾证明找消防开 社区开不了",  # a certificate
        "嫌灭火器贵？着火了你就知道了",  # threatened in an argument
        "火灭了 说是楼下饭馆油锅起火",  # put out, its cause told
        "吓一跳 还好是隔壁单元冒的烟 我们这没事",  # found elsewhere
    ])
    await heard_as(bot, "地下车库水漫了 好几辆车的轮胎泡在水里", "garage_flooding", "119")


async def test_a_gas_leak_only_wondered_about_is_no_emergency_and_one_smelt_is(bot):
    await not_heard_as_emergency(bot, ["新换的燃气表 会不会漏气啊 有点担心", "楼道那根燃气管子锈成那样 怕漏气"])
    await heard_as(bot, "厨房里一股煤气味 会不会漏气了", "gas_smell")


async def test_a_fault_mended_a_fear_a_fires_gravity_one_never_had_or_a_devices_feature_is_no_emergency(bot):
    await not_heard_as_emergency(bot, [
        "修好了 燃气表后头那个接头漏气 师傅拧紧了",  # mended
        "娃走丢最可怕了 出门一定拉紧手",  # the worst fear named
        "楼道里堆纸箱子 起火了可不是闹着玩的",  # how grave it would be
        "咱这电梯老归老 从来没困过人",  # never happened here
        "给我爸买了个手环 摔倒了会自动呼救",  # a device's feature
    ])
    await heard_as(bot, "3号楼电梯困人了 里面是个老太太", "trapped_in_lift", "96333")


async def test_advice_a_comparison_a_product_one_seen_to_or_one_at_kins_work_is_no_emergency(bot):
    await not_heard_as_emergency(bot, [
        "说个常识 家里闻见燃气味 先关阀门开窗",  # advice given
        "楼道那堆纸箱子 真着火了咋办",  # a fire's what-if
        "灭火毯是贵点 不过比着火强",  # a fire compared
        "这种香薰蜡烛会冒烟吗",  # a product asked after
        "刚才2号楼的煤气味 燃气公司来人看了 已经处理好了",  # seen to
        "我闺女单位昨天着火了 人都跑出来了",  # at kin's work
        "我原单位那电梯困过人 吓死个人",  # a lift that once held someone elsewhere
        "饭店着火多半是油锅",  # what it usually is
        "油烧到冒烟再泼辣子",  # cooking
        "我家壁挂炉已经烧起来了 屋里热乎",  # the heating started
        "这娃说一句顶十句 我都快气冒烟了",  # a figure of speech
        "着火那个视频我都不敢看",  # a clip
    ])
    await heard_as(bot, "2号楼302着火了 浓烟从窗户往外冒 快打119", "fire", "119")
    await heard_as(bot, "楼道里一股煤气味 咋办 谁有燃气公司电话", "gas_smell")


async def test_someone_out_cold_a_child_gone_in_a_blink_or_a_neighbour_silent_for_days_is_an_emergency(bot):
    await heard_as(bot, "车库里有个大爷晕在车里了 车门锁着 怎么拍都拍不醒", "person_down", "120")
    await heard_as(bot, "有人看见我外孙女没 扎俩小辫 七岁 刚才还在滑梯那 一转眼人没了 找了一个小时了", "person_missing", "110")
    await heard_as(bot, "对门李奶奶三天没开门了 打电话不接 敲门也没动静", "no_response")
    await not_heard_as_emergency(bot, [
        "我家小子早上敲门都敲不醒 天天赖床",  # a sleeper
        "昨天头晕在家躺了一天 今天好了",  # dizzy, at home
        "他老伴前年人没了 一个人过",  # died long ago
        "隔壁老人身体好好的 一转眼人没了 唉",  # a death told in grief
    ])
