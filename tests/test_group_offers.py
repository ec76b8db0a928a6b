"""Group offers read general signals: a problem said of something neighbours share is offered, moods make chatter."""

import shutil
from pathlib import Path

import pytest

from tests.harness import Harness

GROUP = "JT-TTC-01"  # 铁塔厂家属院居民群
RULES = Path(__file__).resolve().parents[1] / "config" / "rules.yaml"


@pytest.fixture
async def bot(database_url):
    harness = await Harness.start(database_url)
    yield harness
    await harness.close()


async def heard(bot: Harness, texts: list[str]) -> dict[str, str]:
    """Each line sent by its own sender in the group; the bot's answer to each."""
    return {text: await bot.resident(f"邻居{n}", text, group=GROUP) for n, text in enumerate(texts)}


async def unanswered(bot: Harness, texts: list[str]) -> None:
    """Lines said in the group that get no answer at all: no offer, no emergency warning."""
    answers = await heard(bot, texts)
    assert all(answer == "" for answer in answers.values()), {text: answer for text, answer in answers.items()
                                                              if answer}


async def offered(bot: Harness, texts: list[str]) -> dict[str, str]:
    """Lines said in the group that each get an offer to register; the bot's answer to each."""
    answers = await heard(bot, texts)
    assert all("登记" in answer for answer in answers.values()), {text: answer for text, answer in answers.items()
                                                                if "登记" not in answer}
    return answers


async def test_a_problem_said_of_a_shared_thing_is_offered_in_words_no_category_lists(bot):
    await offered(bot, [
        "单元门的合页锈得厉害，一开就吱吱叫",  # bad to a degree
        "后院的铁门推不动了，老人进出费劲",  # a verb that cannot reach its result
        "有人把旧沙发堆在楼道拐角，过人都得侧身",  # a shared space misused
        "物业说来修电梯，一个礼拜了还没来",  # a promise gone unkept
        "这栋楼的水时有时无的，洗个脸都难",  # on and off
        "暖气从供暖就没热过，交了钱还这样，这叫啥事嘛",  # a rhetorical question is a complaint's edge
    ])


async def test_observations_of_too_much_of_a_nuisance_of_its_harm_and_of_how_long_it_lasted_are_offered(bot):
    await offered(bot, [
        "后院墙根全是碎玻璃，娃娃在那耍",  # an extent next to a nuisance
        "院子里的流浪狗越来越多，见人就叫",  # growing
        "小区路面冻成冰了，好几个人滑倒",  # what it does to people
        "楼下小吃店的油烟天天飘进我家",  # a nuisance coming into one's home
        "暖气都一个礼拜了还是冰的",  # it has lasted
        "楼道那盏灯从上个月就没亮过",  # never since
        "院子里的水龙头关不紧，一直在滴",  # a verb that cannot reach its result, dripping on
        "车棚顶上的铁皮耷拉下来了",  # a state word of the rules file
    ])


async def test_a_shared_thing_named_without_a_fault_or_a_fault_elsewhere_or_gone_is_chatter(bot):
    await unanswered(bot, [
        "院子里全是放学的娃娃，热闹",  # an extent next to no nuisance
        "邻居家做饭的香味飘到我家了，馋",  # nothing unwanted comes in
        "电梯每天早上都是送娃上学的",  # plain frequency is no complaint
        "电梯里又贴了张新广告，卖保健品的",
        "门卫那有个没人领的快递，谁的",  # unclaimed is not neglected
        "孩子在院子里滑倒了，膝盖蹭破点皮",  # a person fell, no thing fell over
        "我家燃气灶打不着火了",  # one's own stove is no gas main
        "我表姐她们小区停了两天电了",  # somewhere else
        "上回楼道堵的事处理了，现在通了",  # fixed now
        "千万别在楼道里给电动车充电",  # advice
        "我家下水道堵了，通了一下午，累死了",  # the sender's own work on it
        "下水道口有只小刺猬，快来看",  # come and see is no call to act
        "昨天单元门坏了一天，今天好了",  # over now
        "上礼拜下水道堵了，物业当天就来通了",  # fixed as soon as it came
        "路灯不是坏了，是还没到点",  # a fault denied and explained
        "额们单位的电梯天天坏",  # at the sender's workplace
        "我们家那口子又去钓鱼了，一整天不见人",  # one's own family
    ])


async def test_a_repair_done_someone_on_it_a_notice_a_purchase_or_a_home_elsewhere_is_chatter_an_unkept_one_is_not(bot):
    await unanswered(bot, [
        "后院的排水沟师傅来疏通好了，不返水了",  # a repair done, the nuisance gone
        "大门口塌的那块今天填平了",
        "楼后那根耷拉的电线，供电所的人已经到了",  # someone already on it
        "单元门的事物业说师傅在路上了",
        "【停暖通知】因换热站检修，周四9:00-16:00暂停供暖，恢复时间另行通知",  # a reposted notice
        "网上买的水壶漏水，找客服退货了",  # a purchase, the sender's own
        "新买的电饭煲坏了，拿去售后了",
        "我婆家那个楼的电梯又停了，老两口上不去",  # a home elsewhere
    ])
    await offered(bot, ["门口的坑填平了没几天又塌了，电动车摔了"])  # fixed and back


async def test_moods_make_chatter_whatever_the_topic(bot):
    await unanswered(bot, [
        "新闻说外地有个小区电梯坠落，吓人",  # news from elsewhere
        "物业说下午来修电梯，大家再等等",  # a repair promised
        "我家洗衣机漏水了，有会修的吗",  # one's own appliance, asked of the neighbours
        "停水了吗？",  # a question to the group
        "如果井盖丢了记得绕着走",  # advice
        "坏了，我忘关煤气了",  # an exclamation about oneself
        "我家孩子被蚊子咬了个大包",  # mild, and about nothing shared
        "我妈的手机不见了",  # a thing missing, not a person
        "我家热水器打不着火了",  # a stove that will not light is no fire
    ])


async def test_a_call_to_act_outweighs_advice_and_wishes_and_bookings_have_their_frames(bot):
    answers = await offered(bot, ["井盖丢了，过路的小心点，赶紧修", "盼着能在楼下加几个路灯", "想问问残疾证到期了怎么换",
                                "请问独生子女证丢了能补办吗"])
    assert "心愿" in answers["盼着能在楼下加几个路灯"]
    assert "预约" in answers["想问问残疾证到期了怎么换"] and "预约" in answers["请问独生子女证丢了能补办吗"]


async def test_a_report_asked_politely_or_as_a_question_for_action_is_offered_and_a_micro_wish_needs_a_hardship(bot):
    answers = await offered(bot, [
        "不好意思打扰大家，5号楼电梯又停了",  # an apology that opens it is courtesy
        "单元门又关不住了，有人管吗",  # asking whether anyone handles it is a call
        "楼道里那盏灯啥时候修啊",  # so is asking when it will be fixed
        "有人知道楼顶漏水找谁吗，家里顶棚都湿了",  # whom to turn to, though asked of the neighbours
        "我爸眼睛看不清，想要个放大镜",  # a want with a hardship
        "想让社区帮忙联系个护工",  # help asked of the community
    ])
    assert "心愿" in answers["我爸眼睛看不清，想要个放大镜"]
    await unanswered(bot, ["这周我家装修，打扰大家了，楼道会有点吵", "娃想要个奥特曼，大家推荐哪个"])


async def test_a_wrong_by_its_topic_at_a_shared_place_is_offered_when_it_recurs(bot):
    await offered(bot, ["楼道拐角老有人在那给电瓶车充电", "楼下老有人半夜在那喝酒划拳"])
    assert await bot.resident("邻居9", "车棚里刚给电动车充上电", group=GROUP) == ""


async def test_a_missing_person_in_the_group_gets_the_number_and_the_offer(bot):
    answer = await bot.resident("老张", "家里老人走丢了，穿灰棉袄", group=GROUP)
    assert "110" in answer and "登记" in answer


async def test_staff_grow_the_shared_things_in_the_rules_file(database_url, tmp_path):
    rules = tmp_path / "rules.yaml"
    shutil.copy(RULES, rules)
    bot = await Harness.start(database_url, rules_path=rules)
    try:
        text = "晾衣杆歪了一根，衣服都挂不住"
        assert await bot.resident("老张", text, group=GROUP) == ""
        rules.write_text(rules.read_text(encoding="utf-8").replace("shared_things: [", "shared_things: [晾衣杆, "),
                         encoding="utf-8")
        assert "登记" in await bot.resident("王姐", text, group=GROUP)  # the edited file is read at once
    finally:
        await bot.close()


async def test_an_outage_that_spoiled_ones_things_or_came_unannounced_is_offered_a_bare_or_missed_one_is_not(bot):
    await offered(bot, [
        "停电了，冰箱里的冰淇淋全化了",  # one's own things hurt by it
        "停了一晚上电，额家鱼缸的鱼死了好几条",  # the outage's length between its words
        "停水也不提前说一声，衣服洗了一半",  # nobody told of it
        "这两天老停气，连个通知都没有",  # a notice's absence is no notice
    ])
    await unanswered(bot, ["停电了，正好睡个午觉", "刚才停了会儿电，我在外面，没赶上"])


async def test_a_rhetorical_question_about_a_shared_thing_is_a_complaint_and_one_about_nothing_shared_is_chatter(bot):
    await offered(bot, [
        "门口的垃圾还收不收了？",  # whether it will be seen to at all
        "院子里的积水谁能受得了？",
        "单元门口那堆砖能不能清一清？",  # a clean-up asked for
        "说好了下礼拜来修暖气，到现在人影都没有",  # a promise in other words, overdue
    ])
    await unanswered(bot, ["这电视剧拖拖拉拉的，谁受得了", "咋回事，群里今天这么安静", "水费咋又涨了"])


async def test_hearsay_with_the_senders_own_case_is_offered_and_hearsay_alone_is_not(bot):
    await offered(bot, ["听说东门那边井盖丢了，额刚才也差点掉进去"])
    await unanswered(bot, ["我同事说他们楼电梯又坏了", "我表姐那边小区天天停电，太可怜了"])


async def test_a_busy_facility_a_weak_cue_and_ones_own_fittings_are_chatter_but_a_nuisance_filling_one_is_not(bot):
    await unanswered(bot, [
        "超市排队排到门口了",  # in demand, not at fault
        "车位满了，只能停路边",
        "谁家的狗丢了？3单元门口有只小黄狗",  # a weak cue (丢了) and a named place make no fault
        "我家的门锁坏了，找了个开锁的",  # the home's own fitting
        "我家阳台的花被风吹倒了",
        "单元门口的对联被风刮掉了，谁家的",  # asking whose it is
    ])
    await offered(bot, [
        "楼下的垃圾桶都满了，味道冲得很",  # what fills it is a nuisance
        "我家楼顶又渗水了，墙皮都泡起来了",  # the building's part, though named as one's home's
        "楼道里那个坑越来越深了",  # growing, next to a nuisance
        "电瓶车的电瓶被人偷了",  # a wrong done to one's own things
    ])


async def test_a_visit_booked_or_where_a_public_service_is_got_is_a_booking_and_a_private_one_is_chatter(bot):
    answers = await heard(bot, [
        "预约一下，请网格员来家里看看裂缝",  # a heavy booking cue books whatever the topic
        "医保卡到期了咋续",  # how or where a public service is got, as grammar
        "老年卡丢了去哪补",
        "高龄补贴在哪弄，额爷爷九十二了",
    ])
    assert all("预约" in answer for answer in answers.values()), answers
    await unanswered(bot, ["停车场的月卡在哪办", "门禁卡在哪补"])  # no public service


async def test_a_person_hurt_a_camera_on_a_door_someone_living_in_a_basement_and_a_door_left_open_are_offered(bot):
    await offered(bot, [
        "有人在楼道里摔了一跤，腿都肿了",  # a person hurt at a shared place
        "楼梯上磕破了头，血流了一脸",
        "楼道里有人装了个摄像头对着对门家",  # a camera aimed at a neighbour's door
        "车库里住了几个外地人，天天进进出出",  # someone living where nobody lives; 外地人 is no compound elsewhere
        "地下室的门一直敞着，里头住了人",
    ])
    await unanswered(bot, [
        "下雪了路滑，老人出门当心别摔倒",  # a fall warned of, not one that happened
        "今天在广场跳舞把脚崴了",  # one's own doing
        "楼下的共享单车都被骑走了，一辆都没了",  # in demand, not at fault
        "超市门一直开着，进出方便",  # a door nobody needs shut
        "楼上住了个新邻居，人挺好",
    ])


async def test_the_learnt_evidence_takes_a_line_the_grammar_read_no_kind_in(bot):
    await offered(bot, ["楼道里的电线老化得厉害，外皮都脆了", "一楼的下水井里咕嘟咕嘟往上冒泡，味道冲"])


async def test_staff_edit_the_evidence_beside_the_rules_file(database_url, tmp_path):
    rules = tmp_path / "rules.yaml"
    shutil.copy(RULES, rules)
    evidence = tmp_path / "offer_evidence.yaml"
    bot = await Harness.start(database_url, rules_path=rules)
    try:
        assert await bot.resident("老张", "电梯的钢丝绳看着毛毛糙糙的", group=GROUP) == ""  # no file: the grammar alone
        evidence.write_text("real:\n  钢丝绳: 9\nchatter:\n  熄灯一小时: 4\n", encoding="utf-8")
        # the edited file is read at once: a shared thing with no fault the grammar reads, taken on the word staff
        # weighed as a real matter's
        assert "登记" in await bot.resident("王姐", "电梯的钢丝绳看着毛毛糙糙的", group=GROUP)
        # an offer the grammar made without a call, vetoed by the word staff weighed as chatter's
        assert await bot.resident("李叔", "小区的路灯全灭了，大家在搞熄灯一小时活动", group=GROUP) == ""
        assert "登记" in await bot.resident("赵姨", "小区的路灯全灭了，黑乎乎的", group=GROUP)
        evidence.write_text("real: [钢丝绳\n", encoding="utf-8")  # broken: the grammar decides alone again
        assert "登记" in await bot.resident("孙哥", "小区的路灯全灭了，大家在搞熄灯一小时活动", group=GROUP)
    finally:
        await bot.close()


@pytest.mark.parametrize("written", [
    'real: {"钢丝绳": 9}\n',  # flow style, a quoted word
    "weight: &strong 9\nreal:\n  钢丝绳: *strong\n",  # an anchor: read by the whole-document loader instead
])
async def test_an_evidence_file_edited_in_any_yaml_shape_is_read(database_url, tmp_path, written):
    rules = tmp_path / "rules.yaml"
    shutil.copy(RULES, rules)
    (tmp_path / "offer_evidence.yaml").write_text(written, encoding="utf-8")
    bot = await Harness.start(database_url, rules_path=rules)
    try:
        assert "登记" in await bot.resident("王姐", "电梯的钢丝绳看着毛毛糙糙的", group=GROUP)
    finally:
        await bot.close()


async def test_only_overwhelming_evidence_overrules_the_grammars_silence(database_url, tmp_path):
    rules = tmp_path / "rules.yaml"
    shutil.copy(RULES, rules)
    evidence = tmp_path / "offer_evidence.yaml"
    bot = await Harness.start(database_url, rules_path=rules)
    relayed = "听楼下说后院那棵树的枝子快断了"  # hearsay silences it
    try:
        assert await bot.resident("老张", relayed, group=GROUP) == ""
        evidence.write_text("real:\n  枝子快断: 5\n", encoding="utf-8")  # p 0.993: the silence stands
        assert await bot.resident("王姐", relayed, group=GROUP) == ""
        evidence.write_text("real:\n  枝子快断: 9\n", encoding="utf-8")  # p 0.9999: overruled, as a report
        answer = await bot.resident("李叔", relayed, group=GROUP)
        assert "登记" in answer and "心愿" not in answer
    finally:
        await bot.close()


async def test_a_problem_spoken_of_in_passing_is_chatter_and_one_the_sender_states_here_and_now_is_offered(bot):
    await unanswered(bot, [
        "要是哪天楼道灯坏了 咱找谁",  # supposed: the supposition opens the clause of the first problem state
        "万一下水道堵了 一楼就遭殃了",
        "去年冬天电梯坏过一回 困了好几个人",  # long ago, a fault undergone
        "上回楼道漏水 物业来得挺快",
        "我儿子租的那套房子暖气不热 房东不管",  # a home of the sender's kin
        "我妹家楼下的路灯也坏了好久",
        "网上买的暖风机不热 正找商家退",  # a thing bought
        "工资就跟下水道一样 一到手就漏光了",  # a shared thing named only as a likeness
        "我这腿跟那破电梯一样 三天两头出毛病",
        "你家狗天天在楼道里叫 你管不管",  # a neighbour addressed: a quarrel between them
        "你们家孩子天天在楼上跑 能不能注意点",
    ])
    await offered(bot, [
        "空调外机晃得厉害 万一掉下来砸到人咋办",  # the state said before the supposition is the sender's
        "上次报的路灯 到现在还没人修",  # long ago and so still
        "去年就漏过 今年又漏了 7号楼楼顶",
        "我妈家在5号楼 暖气一点都不热 老人冻得受不了",  # kin at a building of ours
        "物业你们管不管 楼道灯坏了一个礼拜了",  # the property addressed is a call
        "电梯坏过三回了 这个月 还修不修",  # undergone up to now
    ])
    wished = await bot.resident("邻居99", "要是院子里能装几个长椅就好了 老人走累了没处坐", group=GROUP)
    assert "心愿" in wished, wished  # a supposition wished for is a wish


async def test_a_debate_about_money_or_a_thing_named_as_a_yardstick_is_chatter_a_threat_of_neglect_is_a_complaint(bot):
    await unanswered(bot, [
        "物业费又要涨 凭什么 服务跟不上",  # a rhetorical question about a fee, no fault of a thing stated
        "停车费一个月三百 比隔壁贵一百 凭啥",
        "娃哭得比楼下装修还吵",  # the shared place is only the yardstick
    ])
    await offered(bot, [
        "收费这么贵 保洁一周才来一次 楼道全是灰",  # a fee said with a fault
        "如果再不修 楼道灯黑着老人迟早得摔",  # a supposition that it goes on unseen to
        "地库里有一股烧焦味 不知道哪里来的",
    ])


async def test_a_notice_saluting_the_residents_is_chatter_a_neighbour_saluting_the_group_still_reports(bot):
    assert await bot.resident("物业小刘", "尊敬的居民朋友们 近期小区多发电动车电瓶被盗 请将车辆停入车棚", group=GROUP) == ""
    assert "登记" in await bot.resident("老周", "各位邻居 5号楼的楼道灯坏了一个礼拜了 谁管管", group=GROUP)


async def test_a_rhetorical_question_whether_it_waits_for_worse_or_anyone_dares_use_it_is_a_complaint(bot):
    await offered(bot, [
        "这井盖是不是非得等砸了人才修？",  # must it get worse before it is seen to
        "楼后这排路灯就修不好了？",  # never to be put right
        "车棚顶都漏成这样了谁敢停车？",  # whether anyone dares use it
        "楼道灯坏了半年，交的物业费算啥？",  # what the fee is for, a fault stated
    ])
    await unanswered(bot, ["这天冷成这样谁敢出门？", "这菜贵成这样谁敢买？"])  # nothing shared


async def test_a_noise_a_thing_makes_one_kept_up_at_night_someone_shut_in_or_pinched_are_offered(bot):
    await offered(bot, [
        "楼顶的铁皮哗啦哗啦响，刮风就这样",  # a noise it makes
        "广场那边的音箱晚上十点还在放",  # kept up at night
        "刚才又被关在电梯里了，按铃也没人应",  # someone shut in
        "单元门的闭门器太猛，把我孙子手夹肿了",  # someone pinched by a shared thing
        "停水一下午，老人连口热水都喝不上",  # an outage that spoiled the day
        "都说后门那段台阶滑，我妈今早就在那摔了",  # hearsay with the sender's kin's own case
    ])
    await unanswered(bot, [
        "娃的拨浪鼓哗啦哗啦响，乐得直笑",  # nothing shared makes the noise
        "我家娃晚上十点还在写作业",
        "抽屉把我手夹肿了，疼死",
        "都说后门那段台阶滑，大家出门小心",  # hearsay alone
    ])


async def test_ones_own_doing_a_fix_that_took_a_quarrel_broken_up_and_ones_own_things_are_chatter(bot):
    await unanswered(bot, [
        "我家娃把楼道墙上画得乱七八糟，回头我去擦",  # the sender's child as the doer
        "刚才娃在楼道里哭闹，吵到各位了",  # an apology for disturbing the group
        "楼道灯刚才不亮，拍了拍手就亮了",  # the sender's own fix took
        "楼上楼下的别吵了，邻里邻居的",  # a quarrel broken up
        "这家的橘子一半都烂了，下次不在这买了",  # a shopper's verdict on the seller
        "我老公就是个堵死的下水道，啥话都憋着",  # a shared thing named as what someone is
        "我的水杯摔坏了，心疼",  # the sender's own thing
        "我这脑子今天停电了，啥也想不起来",  # an outage said of one's own thing
        "学校的电梯又坏了，娃得爬六楼",  # a thing of a school is somewhere else
        "网上买的扫地机不转了，正在申请售后",  # one's own purchase's after-sales is no booking
    ])
    await offered(bot, [
        "有人把楼道墙上画得乱七八糟",
        "楼道灯拍手也不亮，坏了好几天了",
        "楼上天天半夜跺脚，吵得我们睡不着",
        "楼下垃圾站的烂菜叶子一堆，臭得很",
        "这楼道灯就是个摆设，天天黑着",
        "咱楼的电梯又坏了，老人得爬六楼",
    ])


async def test_a_question_to_the_neighbours_is_chatter_a_wish_or_booking_in_its_frame_is_not(bot):
    await unanswered(bot, [
        "附近哪家修鞋的靠谱，鞋跟掉了",  # which one is good
        "群里有没有人会修电动车的",  # who among them does it
        "大家觉得楼下种桂花好还是种月季好",  # which of two they would rather have
        "我去社区问了下说居住证网上就能办，大家可以试试",  # what the sender was told, passed on
        "回收旧家电 上门服务",  # a trade
    ])
    assert "心愿" in await bot.resident("邻居90", "建议在小区门口放个旧书回收箱", group=GROUP)  # the bin's name
    booked = await heard(bot, ["帮我约一下护士上门给老人换药", "残疾证丢了能补吗"])
    assert all("预约" in answer for answer in booked.values()), booked


async def test_a_shared_thing_typed_by_its_sound_is_offered_and_a_yearly_service_asked_when_is_a_booking(bot):
    assert "登记" in await bot.resident("邻居93", "电悌按钮坏了 一直按不亮", group=GROUP)  # 电梯 typed by sound
    await unanswered(bot, ["收音机的电台不灵了", "娃的书包拉链拉不上了"])  # no shared thing, nor one by sound
    assert "预约" in await bot.resident("邻居91", "请问高龄补贴每年什么时候申请", group=GROUP)
    assert await bot.resident("邻居92", "请问广场舞每年什么时候开始", group=GROUP) == ""  # no public service


async def test_a_want_or_help_asked_for_someone_in_hardship_is_a_wish_wherever_their_kin_are(bot):
    wishes = await heard(bot, [
        "我爸腿脚不利索出不了门 谁能帮忙每周给他送一次菜",  # help asked, for someone who cannot go out
        "我在外地上班 我妈一个人在家不会用手机 能不能有人帮她交个水费",  # kin away is no hearsay here
        "我奶奶眼睛花了 想要个放大镜 她不好意思说",  # shyness said with it is no one's own doing
    ])
    assert all("心愿" in answer for answer in wishes.values()), wishes
    await unanswered(bot, [
        "谁能帮忙推荐个菜市场 想买点好菜",  # no hardship
        "听说外地有人帮老人交水费 挺好",  # hearsay, no want
        "不好意思 想要个群公告的截图",
    ])


async def test_a_past_recalled_after_a_problem_stated_now_and_a_visit_planned_to_a_service_are_offered(bot):
    assert "登记" in await bot.resident("邻居94", "单元门口的台阶塌了一块 轮椅推不过去 上回就有人摔了", group=GROUP)
    assert await bot.resident("邻居95", "上回台阶塌了一块 后来修好了", group=GROUP) == ""  # the past itself
    booked = await heard(bot, ["养老认证的地方周日开门不 我平时上班", "居住证登记我明天下午去行不"])
    assert all("预约" in answer for answer in booked.values()), booked
    await unanswered(bot, ["广场舞周日开门不 我想去跳", "我明天下午去打球行不"])  # no public service


async def test_a_nuisance_undone_and_back_again_or_help_fetched_for_a_shared_thing_is_offered(bot):
    await offered(bot, [
        "楼道墙上的小广告撕了又贴",  # undone and back again
        "楼道灯一闪一闪的 谁赶紧叫电工",  # someone asked to fetch help
    ])
    await unanswered(bot, ["这本书我看了又看", "家里灯泡坏了 谁赶紧叫电工"])


async def test_a_visit_asked_as_a_question_or_a_problem_relayed_from_here_is_offered_a_fault_denied_is_not(bot):
    await offered(bot, [
        "想约社区的人来家里帮老人做个认证，能安排吗",  # a visit booked, put as a question
        "能不能跟网格员约个时间去开居住证明",  # a time asked of staff
        "额给大家说一下，东门那个井盖没了，晚上过路的操心",  # the sender telling everyone is no hearsay
        "我婆婆说6号楼那个单元门的锁坏了好几天了",  # relayed, of a place of ours
        "这几天水龙头放出来的水发黄，烧开了一层渣，是不是管道的问题啊",  # a fault put as a question
    ])
    await unanswered(bot, [
        "楼道灯是声控的，白天不亮是正常的，不是坏了",  # a fault denied
        "我姐说她们小区的电梯老是坏",  # relayed, of a compound elsewhere
        "额是外地来的，这边菜市场在哪",  # who the sender is, not where a thing is
        "你们家今天有水吗",  # a question to the neighbours
    ])


async def test_a_slot_asked_a_want_with_a_hardship_and_a_dealer_in_the_way_are_offered_ones_own_mistake_is_not(bot):
    await offered(bot, [
        "老年大学的书法班能预约不",  # a slot asked
        "能不能帮我约燃气公司上门检查一下，上次来我不在家",  # a visit booked, why the last one missed said with it
        "3楼的赵爷爷老伴走了，一个人住，想要个收音机解解闷",  # a want with a hardship
        "张姨的电动轮椅坏了，她修不起，有没有人能帮忙看看",  # one's own thing, but a want with a hardship
        "收破烂的把三轮车停在单元门口好几天了，进出都费劲",  # a dealer is who is in the way, nothing for sale
    ])
    await unanswered(bot, [
        "哦，原来是我把门禁卡刷反了，哈哈",  # the sender's own mistake found out
        "老年大学秋季班开始报名了，帮忙宣传一下",  # a notice passed on
        "那是楼下饭馆炒菜的烟，不是着火，大家别慌",  # a fire denied
    ])


async def test_work_planned_on_ones_own_home_is_chatter_unless_help_is_asked_for_it(bot):
    answers = await heard(bot, ["家里卫生间想改个门，找谁弄比较好", "家里想装个扶手，老人腿不好，想请社区帮忙"])
    assert answers["家里卫生间想改个门，找谁弄比较好"] == ""
    assert "登记" in answers["家里想装个扶手，老人腿不好，想请社区帮忙"]


async def test_a_visit_or_a_slot_asked_in_its_many_forms_a_want_with_a_hardship_and_a_mocking_complaint_are_offered(bot):
    await offered(bot, [
        "想约物业的维修师傅周六来看看厨房下水",  # a visit asked of the property
        "下个月的义诊能给我留个号吗",  # a slot kept
        "网格员哪天有空来一趟，我们几户想一起办居住登记",  # when staff can come
        "我妈骨折了在家躺着，想借个轮椅用一阵，有人能帮忙吗",  # a want with a hardship
        "门口新装的充电桩俩月了一直不通电，摆着看的吗",  # mocked as for show
        "绿化带的草都半人高了，啥时候割",  # when it will be done
    ])
    await unanswered(bot, ["要是能在楼顶搞个小花园就好了，纯属幻想哈", "王奶奶要老花镜的心愿我认领了，周末送过去"])


async def test_help_asked_of_volunteers_or_neighbours_for_someone_in_hardship_is_a_wish(bot):
    await offered(bot, [
        "我奶奶腿脚不好 儿女都在外地 有没有大学生志愿者周末能陪她去趟医院",  # help asked of a volunteer
        "楼上李叔一个人住 眼睛看不清 谁有空能帮他读读药盒上的字",  # of whoever has time
        "我在外地上班回不来 我爸身体不好 有没有热心人能帮他买次菜",  # the sender far away is the hardship
        "孩子爸爸常年住院 想给娃找个能辅导作业的大姐姐",  # a helper described
        "家里老人瘫了好几年 就想有人周末推他出去晒晒太阳",  # a plain wish with a hardship
    ])
    await unanswered(bot, [
        "我去北京玩一周 家里猫谁能帮忙喂两天 有偿",  # a favour asked, no hardship
        "周六社区包饺子送孤寡老人 需要八个人 谁有时间",  # volunteers recruited
    ])


async def test_a_booking_asked_for_kin_in_dialect_after_a_past_visit_or_as_a_home_visit_is_a_booking(bot):
    await offered(bot, [
        "帮俺妈约个上门体检 她走不动",  # for kin, in dialect
        "给我爷爷约一下下个月的义诊",  # for kin
        "残疾证年审能上门不 我爸瘫在床上",  # a home visit asked
        "想预约个助浴 上回那个志愿者还来不",  # a booking with a past visit recalled
        "想约社区上门服务 帮老人办个银行卡",  # a home visit is no trade
    ])


async def test_a_question_that_is_a_complaint_or_a_request_to_staff_and_a_problem_witnessed_by_others_are_offered(bot):
    await offered(bot, [
        "单元门的锁坏了一个月了 这合理吗",  # a complaint put as a question
        "物业能把门口那堆砖清一下吗",  # a request to staff
        "路口的井盖没了 好几天了 送外卖的都说差点摔",  # others' word after the sender's own
    ])


async def test_opinions_asked_nuisances_that_pass_notices_and_figures_of_speech_are_chatter(bot):
    await unanswered(bot, [
        "物业要涨停车费了 大家怎么看",  # an opinion asked
        "院里车太多停不下 过完正月就好了",  # a nuisance that will pass by itself
        "需要的带上户口本 周三在社区办",  # a notice's instruction
        "办理流程：1.带身份证 2.去社区填表 3.等通知",  # a numbered guide
        "加班加得我头都冒烟了",  # a figure of speech
        "停水的是3号楼 我们楼不停",  # a notice explained
        "垃圾桶旁边那堆旧家具今天清走了",  # cleared away
    ])


async def test_a_wish_marked_as_one_help_for_an_old_neighbour_a_fault_asked_about_or_a_visit_home_are_offered(bot):
    await offered(bot, [
        "微心愿：希望有人每周推我爸下楼转转",  # a wish marked as one
        "对门刘奶奶的收音机坏了 有没有会修的师傅帮看看",  # help asked for an old neighbour
        "有人知道咋回事 这两天楼道灯一到晚上就不亮",  # whether anyone knows what is wrong
        "网格员 后天上午能来一趟我家吗 想说说低保的事",  # staff asked to come by
        "我明天能去社区找一下王主任吗 想当面问问",  # the sender asking to see staff
    ])


async def test_staff_speaking_another_district_a_key_found_or_a_tip_shared_is_chatter(bot):
    await unanswered(bot, [
        "网格员：居住证明带身份证来就行 工作时间都在",  # staff speaking
        "陈仓区那边昨天停了一天水 我姐家没法做饭",  # another district
        "有人丢了一串钥匙 我放物业那了",  # a key found, no one missing
        "小知识：暖气片上不要盖湿衣服",  # a tip shared
    ])


async def test_a_thing_taken_or_occupied_by_others_a_night_nuisance_a_hornets_nest_or_a_leaking_pavilion_is_offered(bot):
    await offered(bot, [
        "单元门口的灭火器被人拿走了 箱子空的",  # taken by someone
        "我的固定车位被别人装了地锁",  # occupied by someone, even one's own place
        "花坛边上有个马蜂窝 娃们天天从那过",  # a hazard by itself
        "广场那个凉亭顶子漏雨 坐不成人",  # a shared pavilion
    ])


async def test_a_thing_asked_for_a_child_or_an_old_neighbour_and_help_from_a_young_man_for_the_old_are_wishes(bot):
    await offered(bot, [
        "我八十多了 米面扛不上楼 有没有小伙子能帮一把",  # old age said as a number, help asked of a young man
        "楼下李奶奶想要个暖手宝 有没有人家里有闲置的",  # a thing no longer used, for an old neighbour
        "我家孩子上学缺个书桌 谁家有不用的旧书桌",  # for a child
    ])
    await unanswered(bot, [
        "谁家有多余的折叠凳 借两个 明天还",  # borrowed
        "谁家有不用的旧衣服 我们收集了捐给山区的孩子",  # collected to be given on
    ])


async def test_a_visit_planned_with_staff_a_time_asked_a_sign_up_or_a_visit_moved_is_a_booking(bot):
    await offered(bot, [
        "明天上午我过去补材料 刘姐你在不在",  # the sender coming by to get it done
        "残疾证年审哪天可以过去办",  # when to come
        "下周社区义诊给我报个名",  # a sign-up
        "约好的上门能不能改到周六",  # a visit moved
    ])
    await unanswered(bot, ["聚会改到周六了 大家记一下", "今天去社区办事 人挺多的"])


async def test_a_notices_word_broken_damage_done_a_pleasantry_turning_to_a_fault_or_an_urged_fault_is_offered(bot):
    await offered(bot, [
        "通知说三点恢复供电 这都六点了 楼里还是没电",  # a notice's word broken
        "有人把小区门口的花坛拆了 砖都拉走了",  # someone damaging a shared thing
        "今天天气挺好 就是楼下那个井盖又翘起来了",  # a pleasantry turning to a fault
        "催一下 东门那个路灯 第三天了",  # urged, how many days
        "热水管出来的水是黄的 放半天还是黄汤",  # the water's colour
    ])


async def test_staff_asked_to_come_the_sender_going_today_damage_by_someone_or_when_it_will_be_solved_are_offered(bot):
    await offered(bot, [
        "你们啥时候能来一趟 我爸的认证还没做",  # staff asked to come
        "想请网格员来我们楼开个会 商量停车的事",  # staff asked to come for a meeting
        "居住证明在社区开还是派出所 社区的话我下午去",  # the sender going this afternoon
        "有人把楼下的健身器材拆了 当废品卖了",  # damage by someone
        "水压问题到底啥时候解决",  # when it will be solved
        "老年活动室让人锁了 老人都进不去",  # locked by someone
    ])
    assert await heard(bot, ["以为楼塌了 结果一看是打雷 还好没啥事"]) == {"以为楼塌了 结果一看是打雷 还好没啥事": ""}


async def test_help_asked_of_whoever_has_time_for_an_old_or_blind_neighbour_and_a_thing_asked_for_a_needy_home_are_wishes(bot):
    await offered(bot, [
        "我们楼的盲人大叔想出去转转 谁有空能陪他走一圈",  # whoever has the time, for someone in hardship
        "我爸腿脚不行了 想寻个人帮着把床挪到窗边",  # help sought in dialect's verb
        "孩子要上学了 家里困难买不起书桌 谁家有闲置的能捐给我们",  # given to us, not on
        "我婆婆一个人带孙子 我们在外地打工 想请社区帮忙周末辅导下作业",  # help asked of the community
    ])
    await unanswered(bot, ["谁家有不穿的小孩衣服 我想收一些 付钱也行", "谁有空帮我看会儿娃 我下楼取个快递"])


async def test_a_warning_with_a_call_a_notice_contradicted_a_promise_overdue_or_a_request_to_the_property_is_offered(bot):
    await offered(bot, [
        "大家注意 5号楼门口台阶塌了一块 麻烦社区找人修一下",  # a warning with a call
        "3号楼又停水了 通知上没说啊",  # a notice that said nothing
        "说好的月底完工 这都下个月了 小区门口的沟还敞着",  # a promise overdue
        "管家能不能帮忙给占我车位那辆车贴个条",  # a request to the property
        "周日早上七点楼上就打电钻 不是说周末不能施工吗",  # a rule cited against it
    ])


async def test_a_room_a_home_visit_or_a_time_to_come_by_asked_of_staff_is_a_booking(bot):
    await offered(bot, [
        "想借社区的儿童之家周六上午给孩子们办个读书会",  # a community room
        "网格员 想请你们来家里一趟 登记下党员中心户的事",  # a home visit
        "额要开个居住证明 下午三点过去可以吗",  # a time to come by
        "额报名参加周六的健康讲座",  # a sign-up for the community's talk
    ])


async def test_an_aid_for_an_old_spouse_company_asked_for_a_hard_errand_and_bookings_typed_by_sound_are_offered(bot):
    await offered(bot, [
        "想给老伴弄个坐便椅 他蹲不下去 谁家有闲置的",  # an aid, for an old spouse
        "想请个志愿者陪额去银行取钱 额不会用卡",  # company for an errand one cannot do alone
        "有没有人明天去中医院 我想搭个伴 一个人去心里发怵",  # company asked for
        "想预越个体检 65岁以上免费那个",  # 预约 typed by its sound
        "额是党员 想来社区报到 啥时候合适",  # a visit to the community asked about
        "有人往绿化带里倒油漆桶 绿了一大片",  # someone dumping on a shared place
        "河堤上的护栏被撞开一个口子",  # damage by someone unknown
    ])
    await unanswered(bot, [
        "要是有人家需要旧轮椅 我家有一个闲置的 可以送",  # a thing offered away
        "额那块地的白菜叫虫咬坏了",  # one's own field
        "做梦梦见家里漏水 吓醒了",  # a dream
        "娃在院子里摔了一跤 膝盖蹭破点皮",  # a fall said to be nothing
    ])


async def test_aid_asked_for_a_family_in_hardship_an_attempt_that_failed_or_a_time_to_collect_is_offered(bot):
    await offered(bot, [
        "老公厂里裁员了没活干 娃的学费都交不上 社区有没有啥救助",  # aid asked, a hardship said
        "隔壁老人天天在垃圾堆里捡吃的 社区能不能帮帮他",  # the community asked to help
        "谁家有娃娃穿不了的棉袄 楼下留守的小妹妹还穿着单衣",  # a thing outgrown, for a needy child
        "养老认证在手机上弄了半天弄不成 想约网格员教一下",  # a task tried in vain, a visit asked
        "上礼拜交的低保材料批下来没 啥时候能去领",  # when to collect what was applied for
        "学校门口那根电线杆漏电 刚才有个娃被电得直哭 快来人断电",  # a shock happening now
        "11号楼天台上坐着个小孩 哭着不肯下来 快来人",  # a child out on the roof
    ])


async def test_a_junction_at_rush_hour_ones_own_cup_or_body_clock_or_a_fault_seen_to_is_chatter(bot):
    await unanswered(bot, [
        "下班高峰那个路口天天堵 习惯了",  # traffic, not a thing left in the way
        "娃又把水杯摔日塌了 这月第三个",  # one's own cup
        "又要倒夜班了 生物钟全日塌了",  # one's own body clock
        "上回说的那个黑三轮 城管来管过了 这两天没见了",  # seen to
        "雾大得很 开车的注意",  # the weather
        "谁家有小孩穿不了的衣服 我家亲戚要",  # collected for a relative: a favour
    ])


async def test_a_thing_thrown_down_cigarettes_sold_to_children_or_a_fault_in_a_shared_toilet_or_sandpit_is_offered(bot):
    await offered(bot, [
        "刚有人从楼上丢了个酒瓶子下来 差点砸到人",  # thrown down from a window
        "巷口那家小超市卖烟给小学生 好几回了",  # cigarettes sold to children
        "公共厕所的水箱坏了 一直冲不了",  # a shared toilet
        "楼门口坡道的防滑条磨平了 老人下雨天老打滑",  # a worn shared thing
    ])


async def test_what_was_heard_then_the_senders_own_ask_or_what_could_happen_then_a_call_is_offered(bot):
    answers = await heard(bot, [
        "听说社区下周有免费体检，额想给我妈约一个",  # hearsay as the preface of one's own booking
        "有人把地下室的消防门用砖头顶着，万一着火了咋办，物业赶紧管一下",  # what could happen, then a call
    ])
    assert all(answer for answer in answers.values()), answers
    await unanswered(bot, [
        "听说社区有免费体检，我妈去过了，挺好的",  # hearsay and nothing asked
        "要是半夜停电了咋办，我就问问",  # a supposition put as a question
    ])


async def test_a_village_committees_errand_and_a_want_of_someone_living_alone_are_offered_and_farm_chatter_is_not(bot):
    answers = await heard(bot, [
        "额想去村委会办个土地流转的备案 哪天去合适",  # the village committee is the community's office
        "额一个人过 屋里冷得很 想要个电热毯 谁家有多余的",  # a want with a hardship, asked of neighbours
    ])
    assert all(answer for answer in answers.values()), answers
    await unanswered(bot, ["打麦场上晒的麦子今天收完了 累死额了", "村口新开了个小卖部 东西还挺全"])


async def test_whether_to_book_ahead_asked_is_a_booking_and_the_notice_that_says_to_is_not(bot):
    answers = await heard(bot, ["社区卫生站打流感疫苗要不要提前约 明天有没有号"])
    assert all("预约" in answer for answer in answers.values()), answers
    await unanswered(bot, [
        "接种需要提前预约 请大家互相转告",  # the notice's instruction
        "我们院子的路灯还算好的 我原来住的那个小区天天黑着",  # a home left behind
    ])


async def test_a_gift_made_or_told_of_is_chatter_and_a_want_said_after_one_is_a_wish(bot):
    await unanswered(bot, ["捐了几本娃看过的绘本放在活动室 希望有人用得上"])
    answers = await heard(bot, [
        "上回爱心人士送了个轮椅 这回额大还想要个助行器 他走不动",
        "我妈有点糊涂 已经走丢过一回 想要个防走失手环",  # a wish, not an emergency
    ])
    assert all(answer and "【紧急】" not in answer for answer in answers.values()), answers


async def test_whether_a_community_service_has_a_slot_left_is_a_booking(bot):
    answers = await heard(bot, ["周六的义剪还有号没"])
    assert all("预约" in answer for answer in answers.values()), answers


async def test_a_neighbours_problem_relayed_from_our_building_is_offered_and_news_from_kins_compounds_is_not(bot):
    await offered(bot, [
        "@张网格 5楼赵姨说她家楼上天天往下滴水 把她家阳台的衣服都弄脏了",  # a floor of ours
        "对门刘婶说楼道灯坏了一个礼拜了 她晚上不敢下楼",  # the door opposite
    ])
    await unanswered(bot, ["听我同事说他们小区电梯又坏了", "我妈说她们那个老小区又停水了"])


async def test_a_notice_a_matter_already_told_to_whoever_sees_to_it_or_last_weeks_is_chatter(bot):
    await unanswered(bot, [
        "今晚消防管网试压 楼道里有水声属正常现象",  # a notice's reassurance
        "本周六上午清理楼道杂物 有空的邻居来参加",  # an invitation
        "楼长转：热力公司回复5号楼西头几户暖气不热的问题，周五上午上门排查",  # passed on from the office
        "北门道闸老是抬不起来 我已经跟物业反映了",  # told already
        "单元门锁坏了 我昨天就跟物业说过了",
        "西墙外的野狗物业已联系有关部门处理 请大家带好孩子",
        "这礼拜停了两回水 挺烦的 不过每次都有通知",  # 不过 is but, not a notice missing
        "上星期楼道灯坏了一晚上",  # last week's, over
        "网上传言说咱这要拆迁 是假的",  # a rumour found false
    ])
    await offered(bot, [
        "单元门禁从上礼拜起就刷不开 进不去门",  # since last week: still so
        "楼里又停水了 也不提前通知一声",  # a notice missing
    ])


async def test_when_a_new_thing_will_be_put_in_is_chatter_and_when_a_broken_one_will_be_fixed_is_a_call(bot):
    await unanswered(bot, ["单元门口的充电桩啥时候装啊", "咱小区啥时候能安装个快递柜"])
    await offered(bot, ["楼道灯坏了一礼拜了 啥时候来修", "北门的路灯啥时候能修好"])


async def test_a_service_for_a_car_or_a_pet_and_a_thing_for_sale_are_chatter(bot):
    await unanswered(bot, [
        "车子年审去哪儿办快",  # the vehicle office's
        "狗子打疫苗去哪儿方便",  # a vet's
        "出售一辆八成新的轮椅 老人用不上了 有需要的私聊",  # for sale, whoever it was bought for
    ])
    answers = await offered(bot, ["想给孩子约个疫苗 社区卫生站哪天能打", "隔壁独居的张奶奶腿脚不好 想要个助行器"])
    assert "心愿" in answers["隔壁独居的张奶奶腿脚不好 想要个助行器"]


async def test_a_want_said_with_sight_or_hearing_lost_great_age_in_figures_or_a_thing_never_had_is_a_wish(bot):
    answers = await offered(bot, [
        "对门刘奶奶85岁了 想要个带扶手的小板凳",  # age in figures
        "楼上的小伙子是听障人 想要个闪光门铃",  # hearing lost
        "院里有个娃长这么大没坐过火车 想要个火车模型",  # never had
        "我妈一个人住 卫生间太滑 想装个扶手",  # a fitting wanted
    ])
    assert all("心愿" in answer for answer in answers.values()), answers
    await unanswered(bot, ["这款手机想换个颜色 有没有推荐的"])  # a want with no hardship


async def test_a_neighbours_problem_passed_on_at_their_asking_or_with_a_call_to_the_property_is_offered(bot):
    await offered(bot, [
        "楼下刘婶说她家窗户外面的雨棚快掉了 让我在群里说一声",  # passed on at her asking
        "对面单元的阿姨说她家门口的灯不亮了 物业去看看",  # a call to the property after it
    ])
    await unanswered(bot, ["听我姐说她们小区又停水了"])  # news from a kin's compound


async def test_a_service_told_to_a_neighbour_or_a_nuisance_gone_or_put_up_with_is_chatter(bot):
    await unanswered(bot, [
        "残疾证在区残联能办 带上户口本",  # an answer: no question, nobody asking
        "老年证服务站也能办 不用跑区上",
        "楼道灯前一阵老闪 这两天倒好了",  # gone lately
        "楼下烧烤摊晚上吵得很 不过也没办法",  # put up with
    ])
    await offered(bot, ["社保卡丢了 在哪补办", "预约一下 周四上午 办老年证"])


async def test_a_wrong_by_its_topic_going_on_now_at_a_shared_place_is_offered_by_the_grammar_alone(database_url,
                                                                                                 tmp_path):
    rules = tmp_path / "rules.yaml"
    shutil.copy(RULES, rules)  # no evidence file beside it: the grammar decides alone
    bot = await Harness.start(database_url, rules_path=rules)
    try:
        await offered(bot, ["有人在小区里卖假药 说能治高血压 一群老人围着", "两个陌生人在楼道里挨家挨户推销 现在还在4号楼"])
        await unanswered(bot, ["上个月有人在小区里推销净水器 后来被保安赶走了"])  # long over
    finally:
        await bot.close()



async def test_a_banks_booking_or_traffic_standing_still_is_chatter_and_a_nuisance_every_so_often_is_not(bot):
    await unanswered(bot, [
        "信用卡逾期了要预约去网点吗",  # a bank's booking, not the community's
        "车贷还款要预约吗 有人办过没",
        "晚高峰堵得一动不动 半小时才过一个路口",  # 一动不动 is standing still, not 动不动 (every so often)
    ])
    await offered(bot, ["楼下的狗动不动就叫 吵死了"])


async def test_a_booking_for_kin_a_sign_up_ahead_a_room_borrowed_a_newcomers_papers_or_a_repair_gone_worse_are_offered(bot):
    await offered(bot, [
        "听说社区下周有免费理发 给我爸约一个",  # hearsay of the service, the booking the sender's own
        "听说社区下周三有义诊 能提前报名不 我爸想看看眼睛",
        "想借用一下社区的会议室 开个楼栋会 周四晚上行吗",  # the community's room
        "额是外地的 想办个居住证 要带啥材料",  # the sender from elsewhere: no news from elsewhere
        "暖气修好了反而不热了 4号楼",  # a repair that made it worse
    ])
    await unanswered(bot, ["社区组织包饺子 大家可以报名参加", "外地的小区停水三天了"])


async def test_a_booking_said_to_be_needed_or_a_passports_is_no_booking_asked(bot):
    await unanswered(bot, [
        "校医院好像要预约",  # what a place requires, not a booking asked
        "听说办护照要预约 有人办过吗",  # the exit-entry office's, not the community's
        "办港澳通行证要不要预约 在哪办",
    ])
    await offered(bot, ["我想预约周三上午办居住证"])


async def test_heating_cut_off_in_the_cold_or_a_corridor_light_flickering_is_offered_the_seasons_end_is_not(bot):
    await offered(bot, [
        "今天又停暖了 屋里冻死人了",  # an outage that froze the home
        "走廊灯一直闪 求换一下",  # the corridor is shared
    ])
    await unanswered(bot, ["听说今年三月十五号停暖 跟往年一样"])  # the heating season's end


async def test_a_thing_begged_or_borrowed_for_someone_in_hardship_is_a_micro_wish_a_ladder_borrowed_is_not(bot):
    answers = await offered(bot, [
        "邻居家的孩子白血病在治疗 想求一个玩具熊",
        "我爸走路不稳 谁家有闲置的拐杖 想借一个",
        "对门大爷一个人住 想求一次上门理发",
    ])
    assert all("微心愿" in answer for answer in answers.values()), answers
    await unanswered(bot, ["谁家有梯子 想借一个 挂个灯笼"])  # no hardship: a neighbourly favour


async def test_where_a_booking_is_made_a_friends_home_elsewhere_or_the_school_run_is_chatter(bot):
    await unanswered(bot, [
        "祭扫在民政公众号上就能约 不用跑",  # an answer: where one books
        "同事家楼上漏水了 不是咱小区的 该找谁管",  # not our compound, said so
        "放学接娃 学校门口堵得水泄不通 天天这样",  # the school run's traffic
    ])
    await offered(bot, ["能约个时间给我妈做体检吗"])


async def test_a_dog_barking_all_night_or_a_power_cut_of_our_building_alone_is_offered(bot):
    await offered(bot, [
        "对面楼那家的狗叫了一晚上 根本睡不着",  # a dog's barking all night
        "又停电了 就我们这一栋 咋回事啊",  # our building alone: a fault, not the district's cut
    ])
    await unanswered(bot, ["明天全区停电 通知说下午五点来电"])


async def test_a_flat_battery_a_booking_not_needed_or_asked_whether_needed_or_a_driving_school_is_no_offer(bot):
    await unanswered(bot, [
        "帮邻居推了一下车 她电动车没电了 推着走的",  # a battery run down, no power cut
        "活动室要预约吗",  # whether a place requires a booking
        "有人报名驾校没 想趁寒假学个车",  # a driving school is not the community's
    ])
    await offered(bot, ["电动车充电桩没电了 好几天了没人管", "义剪能预约不"])


async def test_a_supposition_owned_a_proposal_put_to_the_neighbours_or_a_fix_the_sender_will_do_is_chatter(bot):
    await unanswered(bot, [
        "我是打个比方啊 要是楼道灯坏了 物业管不管",  # a supposition, whatever is asked after it
        "咱们楼能不能凑钱给楼道装个声控灯 大家觉得咋样",  # a proposal put to the neighbours
        "小区能不能在门口装个快递柜 各位觉得怎么样",
        "卫生间又渗水了 回头自己买点防水胶补一下",  # the sender will see to it
    ])


async def test_a_booking_made_already_one_not_ours_a_fault_explained_as_an_inspection_or_kins_school_is_chatter(bot):
    await unanswered(bot, [
        "那是市里博物馆的预约 不是咱社区的",  # not ours to book, said so
        "昨天给我妈预约了体检 明天一早去",  # a booking made already
        "电梯又停了 说是年检 这个月第二回",  # scheduled work, not a fault
        "我女儿说她们学校门口的路灯坏了好多天",  # the daughter's school
        "刚才车上有个乘客晕倒了 我赶紧开到医院",  # a driver's passenger, on the bus
    ])


async def test_the_chat_groups_own_business_or_a_mess_the_neighbours_cleared_up_themselves_is_chatter(bot):
    await unanswered(bot, [
        "又有人在群里发小广告了，群主管一下",  # the group's admin asked, not the grid
        "烧烤的人把竹签子扔了一草坪，我们几个刚才去捡了一大袋",  # cleared up by the sender and friends
    ])


async def test_traffic_at_a_school_gate_a_cause_found_to_be_ones_own_or_yesterdays_outage_asked_about_is_chatter(bot):
    await unanswered(bot, [
        "小学门口送娃的车太多了 天天堵 我都是走着去",  # the school run's traffic
        "火车站门口又堵了，出租车一长串",
        "单元门禁卡老是刷不开，后来发现是我卡放钱包里消磁了",  # the cause was the sender's own
        "我家小子又把客厅墙画得乱七八糟 气死了",  # the sender's own child's doing
        "昨天晚上整栋楼停电是咋回事啊？",  # yesterday's, asked about
        "刚才楼下吵吵的咋回事",
    ])


async def test_a_harm_denied_is_chatter_and_one_denied_by_the_owner_of_the_dog_that_did_it_is_not(bot):
    await unanswered(bot, ["那条黄狗是附近的流浪狗 一直在那 不咬人", "车放在绿化带旁边 不挡路"])
    await offered(bot, ["主人说它不咬人 结果追着娃咬 能不能管管"])


async def test_a_wrongdoer_caught_a_flood_since_guarded_against_or_a_fault_in_another_district_is_chatter(bot):
    await unanswered(bot, [
        "昨晚有人在车棚偷电瓶 被保安抓住了 送派出所了",  # caught and handed over
        "去年夏天车库淹到轮胎一半 吓死了 今年物业好像加了挡水板",  # a remedy made since
        "去年我家地下室进水泡坏了一箱书 今年东西全搬上来了",
        "高新那边有个写字楼 电梯天天坏 物业也不管",  # another district's office block
    ])


async def test_staff_answering_a_resident_or_a_service_offered_to_a_class_of_homes_is_no_booking_asked(bot):
    await unanswered(bot, [
        "办残疾证要带户口本 身份证 照片 你先来社区 我们帮你把材料看一下",  # staff's answer
        "暑假社区有个托管班 双职工家庭的孩子可以报名 上午九点到十二点 有志愿者辅导作业",  # a notice
    ])
    await offered(bot, ["独居老人可以申请安装紧急呼叫器吗，去哪预约"])


async def test_help_asked_of_whoever_can_for_an_elder_is_a_micro_wish_and_a_name_recommended_is_not(bot):
    await offered(bot, [
        "额想给外孙寄两罐蜂蜜 不会在手机上弄快递 谁能帮帮额",  # whoever can, for an old one
        "我外公想去扶风给老战友上个坟 家里没车 有没有顺路的可以捎他一趟",  # one going that way
        "我姥姥想学用微信发语音 跟外地的孙子说话 有没有会弄的年轻人教教她",  # one knowing how
    ])
    await unanswered(bot, ["谁能帮忙推荐个靠谱的保洁 给我妈家擦擦玻璃"])  # a name recommended is no help given


async def test_a_service_asked_for_a_reason_far_away_or_a_class_sign_up_wanted_is_a_booking(bot):
    await offered(bot, [
        "我闺女在外地读书 学校要个户籍证明 社区啥时候能开",  # the reason lies elsewhere, the service is ours
        "听说社区能办老年优待证 我爸在老家住惯了刚过来 在哪办",
        "老年大学春季班报名开始没 我想报个国画",  # a class's sign-up asked after and wanted
        "社区暑假托管班报名开始了吗 娃三年级 想报",
    ])
    await unanswered(bot, [
        "群里说的预约体检的小程序 我试了 挺好用的",  # a service only heard of, nothing asked
        "老年大学书法班周四上午开课 想报名的直接去社区三楼",  # a notice to whoever wants it
    ])


async def test_a_repair_promised_long_ago_and_never_done_is_offered(bot):
    await offered(bot, ["单元门禁前年就说要换 一直没换"])


async def test_a_long_line_read_firmly_as_a_report_that_the_evidence_speaks_against_is_chatter_a_terse_one_is_not(bot):
    await unanswered(bot, [
        "以前咱楼道天天有人堆纸箱子 后来物业清了几回 现在干净多了",  # told at length, its words a story's
        "老王家的狗又在单元门口拉屎了 不过他自己马上拿纸收拾干净了 还挺自觉",
    ])
    await offered(bot, [
        "东门路灯坏了一个月了",  # terse: too few words for the evidence to outweigh the grammar
        "车棚那排充电口坏了三个了，天天抢位置，物业说报上去了到现在也没人来修",  # at length, and its words a report's
    ])


async def test_a_fault_put_to_the_neighbours_as_a_question_is_offered_when_its_words_are_a_reports(bot):
    await offered(bot, ["物业app上报修交了一个礼拜了 还是待接单 有人看吗"])
    await unanswered(bot, ["你们家暖气热不热 我家今天还行"])  # a question about how things are, nothing wrong


async def test_help_for_a_hand_that_no_longer_writes_the_cold_an_old_age_or_a_thing_lent_in_hardship_is_a_micro_wish(bot):
    await offered(bot, [
        "我想托人给乡下的弟弟写封信 我手抖得拿不住笔 谁能帮个忙",  # a hand that no longer writes
        "天冷了 我这脚冻得很 谁家有不穿的旧棉鞋 四十一码",  # the cold, a thing no longer worn
        "我爸偏瘫了 离不开轮椅 谁家有闲置的轮椅先借我们用两个月",  # lent, but to someone in hardship
        "谁家有不骑的儿童自行车 娃上学远 走路得半个钟头",  # no longer ridden, for a child
        "活了八十年没出过宝鸡 想请个年轻人带额去西安看看",  # an old age told by the years lived
        "我一个老婆子换不了灯泡 哪位邻居有空帮一下",  # an old woman by her own word
        "孙女上网课 想要个旧平板 能用就行",  # a used thing wanted for a grandchild
    ])
    await unanswered(bot, ["谁家有不用的梯子借我用一下 换个灯泡"])  # a thing lent with no hardship is a favour


async def test_a_sign_up_asked_after_or_wanted_for_kin_is_a_booking_and_a_quarrel_word_asked_of_how_it_is_next_door_is_not(bot):
    await offered(bot, [
        "下周三的防诈骗讲座还能报名吗 我跟老伴两个人",  # whether the sender may still sign up
        "社区书法班开始报名没 想给我家老头子报上",  # a class wanted for kin
        "暖气片摸着冰凉 屋里才十三度 你们家热不热",  # how it is next door asked: no quarrel
        "物业说中午来修水管 现在天都黑了 还在往下滴",  # a promise kept waiting into the night
    ])
    await unanswered(bot, ["下周三社区有防诈骗讲座 想报名的找网格员"])  # a notice to whoever wants it


async def test_a_booking_told_to_someone_else_to_make_is_advice_not_the_senders(bot):
    await unanswered(bot, ["社保专员礼拜三上午在 你先打电话预约"])
    await offered(bot, ["礼拜三社保专员在不 我想约个时间过去问问"])


async def test_road_works_whose_end_is_asked_after_are_under_way_and_works_past_their_date_are_overdue(bot):
    await unanswered(bot, ["小区后面那条路啥时候修通 天天绕一大圈", "门口修路 公交站啥时候能恢复啊"])
    await offered(bot, ["后门那条路说好国庆修通 到现在还没修通 天天绕"])


async def test_a_wish_for_the_sender_or_a_programme_watched_is_no_hearsay_and_news_passed_on_is(bot):
    await offered(bot, [
        "老伴就爱看新闻联播 电视只剩雪花点了 谁懂电视的帮忙调一下",  # a programme watched, not news passed on
        "我闺女在北京上班 想给她寄两罐辣子 我不会弄快递 谁能帮我寄一下",  # help for the sender, a far place its reason
        "想求一副老花镜 看不清药盒上的字了",  # a thing begged for, with a hardship
        "孙女要考研 想要两本旧的考研资料 谁家有",  # a used thing wanted for a grandchild
    ])
    await unanswered(bot, ["新闻联播里说北方好几个城市停暖了"])  # news passed on


async def test_whose_number_to_call_about_a_fault_is_a_call_and_a_stranger_nobody_knows_is_a_worry(bot):
    await offered(bot, [
        "单元门的锁坏了 关不上 谁有物业的电话",  # whose number to call: a call
        "车棚里住了个人 好几天了 也不知道是干啥的",  # a stranger nobody knows
    ])
    await unanswered(bot, ["新来的那个邻居是干啥的 天天穿西装"])  # who someone is, asked


async def test_a_dead_tree_over_a_shared_thing_is_a_danger_stated_before_the_worry_it_raises(bot):
    await offered(bot, ["楼后那棵大杨树枯死了 枝子悬在电线上头 风一刮就怕断"])
    await unanswered(bot, ["要是哪天楼后的树倒了咋办"])  # the worry alone


async def test_a_supply_gone_with_no_notice_seen_is_a_complaint(bot):
    await offered(bot, ["又没水了 咋回事 没看到停水的通知啊"])


async def test_a_sign_up_asked_ahead_or_a_services_day_asked_with_the_senders_plan_to_go_is_a_booking(bot):
    await offered(bot, [
        "下个月的体检能先报上名不 我们老两口",  # a sign-up asked ahead
        "社区义剪是周几 我带我家老头子去",  # the day asked, with the sender's plan to go
    ])
    await unanswered(bot, ["社区义剪是周几啊 好久没见了"])  # asked, no plan of the sender's


async def test_whether_a_service_can_be_done_here_or_a_certificate_needed_is_asked_wherever_its_reason_lies(bot):
    await offered(bot, [
        "要开一张收入证明 我儿子在咸阳贷款要用 明天能去办吗",  # a certificate needed, the reason far away
        "老年优待证能在社区办吗 我妈刚从老家接过来",  # whether it can be done here
    ])


async def test_neighbours_reminded_to_see_to_their_own_things_is_a_notice(bot):
    await unanswered(bot, ["后天有雨 晒在楼顶的床单收一收"])
    await offered(bot, ["楼道里堆满了杂物 物业请清一下"])  # a call to staff to clear a shared place


async def test_a_video_call_is_no_video_watched_and_staff_told_to_hurry_is_a_call(bot):
    await offered(bot, [
        "我妈的养老认证能不能视频通话办 她腿不好下不了楼",  # a video call, not a video seen
        "楼下的路灯坏了一个礼拜了 我刚跟物业视频通话给他们看了",
        "楼道里的电表箱漏电 我碰了一下手麻 大家千万别碰 物业马上断电",  # staff told to hurry, past a warning
        "单元门口的充电桩漏电 刚才电了我一下 别让娃碰 物业赶紧看看",  # a child kept away is no damage of one's own
    ])


async def test_a_services_way_told_to_a_neighbour_is_no_booking_and_one_asked_for_is(bot):
    await unanswered(bot, [
        "办居住证去派出所 社区不管这个",
        "老年卡是免费的 带身份证直接去社区就行",
        "家庭医生签了约的就可以上门 没签的先去签",
    ])
    await offered(bot, ["我想约家庭医生上门 社区是免费的吧"])  # the sender's own booking


async def test_sign_ups_for_a_visit_a_booking_opening_the_line_and_a_scraped_car_are_heard(bot):
    await offered(bot, [
        "我报名 上门安检 5号楼2单元301 周末在家",  # a sign-up for a visit
        "预约一下下周的心理咨询 家里的事不好意思在群里说",  # a booking first, shyness after it
        "围墙那个豁口得封了 外头的人随便进",  # a gap that must be shut
    ])


async def test_a_wish_told_with_aching_feet_or_cold_to_numbness_is_heard(bot):
    await offered(bot, [
        "我在外面扫大街 脚冻得没知觉 谁家有不穿的棉鞋 四十二码",
        "我是收废品的 一天站到晚 腰疼得很 想要个护腰 谁家有多余的",
    ])


async def test_what_many_compounds_have_is_no_fault_of_ours(bot):
    await unanswered(bot, ["好多小区的门禁都是摆设"])


async def test_a_promise_said_every_year_and_never_kept_is_a_complaint_and_a_fire_put_out_is_over(bot):
    await offered(bot, [
        "楼后那个护坡年年都说要整 就是不整",  # a promise unkept, though everyone says it
        "想预约周四的法律咨询 家里的事不好意思群里说 私聊我",  # a booking, whatever chatter's words go with it
    ])
    await unanswered(bot, ["火灭了 楼道墙熏黑了一片 消防说是电动车电瓶"])  # over


async def test_a_nuisance_the_sender_says_is_not_here_is_no_report_and_a_hole_filled_is_over(bot):
    await unanswered(bot, [
        "东边那个工地半夜还在打桩 吵得很 不过不在咱这 是隔壁街道的",
        "上回说的那个坑已经补上了 平平整整的",
    ])
    await offered(bot, ["东边那个工地半夜还在打桩 吵得很 好几天了"])  # the same nuisance, here


async def test_a_breaker_that_keeps_tripping_a_bare_wire_or_grass_grown_tall_is_a_state(bot):
    await offered(bot, [
        "我们这个单元的总闸老跳 一晚上停三回",  # keeps tripping
        "车棚顶上那根电线裸着 下雨天都不敢过去",  # bare
    ])


async def test_a_noise_made_at_the_hours_of_rest_disturbs_the_homes_round_it(bot):
    await offered(bot, ["晚上十点了还在打桩 这谁受得了", "周末一大早就在电钻 不让人睡了"])
    await unanswered(bot, ["下午三点楼上在打电钻 装修嘛 忍忍就过去了"])  # a working hour, put up with


async def test_a_booking_for_kin_after_hearsay_and_a_problem_after_a_greeting_are_heard(bot):
    await offered(bot, [
        "听说服务站能给娃涂氟 想给闺女约一个",  # what was heard is the booking's preface
        "我家老人想在社区剪个头 听说有免费义剪 要提前登记吗",
        "早上好各位 天气不错 就是楼下那个下水井又冒了 满地脏水",  # the greeting's cues are not the line
    ])


async def test_a_matter_argued_over_a_sigh_at_the_times_or_where_a_service_is_done_is_chatter(bot):
    await unanswered(bot, [
        "楼下车位的事天天吵",  # argued over, no noise
        "咱楼装电梯的钱这个事都吵了一个月了",
        "哎这世道什么都没人管 随便吧",  # a sigh with no fault named
        "办居住证要去派出所的窗口，社区可以帮你先开个证明",  # a service's way told to the one asking
    ])
    await offered(bot, [
        "楼上又在吵 吵得人睡不着",  # a noise
        "车位被人占了三天了 啥都没人管",  # the sigh after a fault stated
    ])


async def test_a_home_help_booked_through_the_community_and_a_sorting_bin_knocked_over_are_heard(bot):
    await offered(bot, [
        "想约个家政 每周来给我妈屋里收拾一下 社区有推荐的吗",  # asked of the community, not the neighbours
        "可回收的那个桶被人推倒了 纸壳子撒了一地",  # a sorting class, no trade's buying up
    ])


@pytest.fixture
async def grammar_alone(database_url, tmp_path):
    """A district whose rules have no evidence file beside them: the grammar decides alone."""
    rules = tmp_path / "rules.yaml"
    shutil.copy(RULES, rules)
    harness = await Harness.start(database_url, rules_path=rules)
    yield harness
    await harness.close()


async def test_by_the_grammar_alone_a_fault_seen_to_a_cemeterys_booking_company_sought_or_a_mind_gone_blank_is_chatter(
        grammar_alone):
    await unanswered(grammar_alone, [
        "群里说的5号楼单元门打不开那事，物业已经回复了，师傅一会儿过来",  # being seen to
        "公墓那边现在要预约才能进 网上约",  # the cemetery's booking, not ours
        "想找个饭搭子 中午在单位附近吃",  # company sought
        "脑子停电了 刚才把垃圾拎上楼又拎下来",  # a figure of speech
    ])
    await offered(grammar_alone, ["5号楼单元门打不开了 好几天了 物业也不管"])


async def test_a_booking_asked_for_the_senders_household_is_offered_as_a_booking(bot):
    answers = await offered(bot, ["能帮我们家约个保洁吗 过年前想把屋里收拾一遍",
                                  "能不能给我们家约个上门理发 老爷子瘫在床上"])
    assert all("预约" in answer for answer in answers.values()), answers


async def test_a_repair_waiting_for_its_parts_is_being_seen_to_and_one_overdue_is_a_complaint(bot):
    await unanswered(bot, ["单元门禁坏了三天了 物业说在等配件"])
    await offered(bot, ["电梯说等配件等了一个月了 到现在还没修 老人下不了楼"])


async def test_by_the_grammar_alone_a_promise_not_kept_and_a_lift_typed_by_its_sound_are_offered(grammar_alone):
    # With the evidence learnt from the 64 batches written to learn from these two lines score below its veto (p 0.09
    # and 0.14); what the grammar reads in them stays as it was, and the evidence's decisions are measured in the bench.
    await offered(grammar_alone, ["物业说师傅在路上了，等了一下午也没来，地下室全是水", "电悌按钮不灵了"])


async def test_a_bare_fault_at_a_shared_thing_is_offered_whatever_the_evidence_says(bot):
    await offered(bot, ["3号楼电梯坏了", "楼道灯坏了", "下水道堵了", "我家暖气不热", "2单元楼道灯坏了好几天了"])
    await unanswered(bot, ["电梯坏了咋办", "你们楼暖气热不热"])  # a question, not a fault stated


async def test_by_the_grammar_alone_terse_faults_on_and_off_back_again_borne_out_or_at_night_are_offered(grammar_alone):
    # The evidence learnt from 64 more batches scores these terse lines just under its firm veto (p 0.007-0.009;
    # the KTV at night 0.19 under the soft one): the grammar's reading of them is unchanged, the evidence's decisions
    # are measured in the bench.
    await offered(grammar_alone, [
        "楼下那盏灯亮一会儿灭一会儿的",  # on and off
        "电梯修好了没两天，今天又坏了",  # fixed and back
        "群里说2号楼没电，我家也没电",  # hearsay borne out by the sender's own home
        "暖气打入冬起就不热",  # lasting since
        "凌晨了 对面那家KTV还在唱歌",  # a nuisance at night
    ])


async def test_by_the_grammar_alone_ones_own_repair_and_parts_awaited_are_chatter_a_scraped_car_and_tall_grass_heard(
        grammar_alone):
    # The evidence learnt from 48 more batches (fresh207-254) takes the first two (p 0.99 from the 0.9 a line with no
    # kind read is taken at, and 1.000 over the grammar's silence) and vetoes the last two (p 0.09 and 0.05 under 0.2);
    # what the grammar reads in them stays as it was, the evidence's decisions are measured in the bench.
    await unanswered(grammar_alone, ["帮我约个师傅上门修热水器", "楼道灯不亮好几天了 说等零件"])
    await offered(grammar_alone, ["我的车昨晚停在楼下被人刮了 也没留个电话", "楼后空地的草都一人高了 蚊子多得很"])


async def test_a_terse_fault_a_wrong_in_a_shared_space_or_noise_all_night_is_offered_and_ones_own_is_not(bot):
    await offered(bot, [
        "9号楼又跳闸了 黑着呢",  # tripped
        "东门那个井盖翻了",  # flipped over
        "单元门对讲机没声了",  # no sound
        "楼道的声控灯一直亮 白天也不灭",  # on all day
        "小区北门晚上又没锁",  # left unlocked
        "隔壁又唱K唱到一点",  # singing past midnight
        "电梯里有人抽烟 一股味",  # smoking in the lift
        "3单元楼道有人充电瓶车",  # charging a battery bike indoors
        "楼顶那个风机响了一晚上",  # running all night
    ])
    await unanswered(bot, ["我家电脑没声了", "我戒烟了 再也不抽烟", "昨晚KTV唱到两点 嗓子哑了", "我家灯一直亮着 忘关了"])


async def test_a_branch_about_to_break_a_barrier_that_will_not_lift_or_someone_climbing_the_wall_is_offered(bot):
    await offered(bot, ["门口那棵柳树的枝子要断 下面还停着车", "小区门口的感应杆老不抬", "西边围墙有人翻进来了"])
    await unanswered(bot, ["老家院子里养鸡 天天有蛋吃", "这手机玩得烫手"])  # home elsewhere; one's own thing
